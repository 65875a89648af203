"""`demo-report.html`: the demo's figures as one self-contained page (Chart.js inline, no network needed):
per-annotator accuracy on gold, consensus confidence, the effective sampling rate per class, the batch's
operating-characteristic curve."""
from __future__ import annotations

import html
import json
import statistics
from math import comb
from pathlib import Path

from assay_shared.demo.report import _all
from assay_shared.demo.scenario import Story, _ok


def _chartjs() -> str:
    import assay_console

    return (Path(assay_console.__file__).parent / "static" / "vendor" / "chartjs" / "chart.umd.min.js").read_text()


def _oc(*, n: int, c: int, points: int = 41, top: float = 0.2) -> list[tuple[float, float]]:
    curve = []
    for i in range(points):
        p = top * i / (points - 1)
        curve.append((round(p, 4), round(sum(comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(min(c, n) + 1)), 4)))
    return curve


def report_data(story: Story) -> dict:
    project_id = story.facts["project_id"]
    gold = _all(story.lead("scoring"), "/gold-scores", project_id=project_id)
    per: dict[str, list[float]] = {}
    for row in gold:
        per.setdefault(row["annotator"], []).append(row["score"])
    consensus = _all(story.lead("scoring"), "/consensus", project_id=project_id)
    bins = [0] * 10
    for row in consensus:
        bins[min(int(row["confidence"] * 10), 9)] += 1
    rates = _ok(story.lead("review").get("/sampling-rates", params={"project_id": project_id}), "sampling rates")
    ins = story.facts["inspection"]
    return {
        "accuracy": {"labels": sorted(per), "values": [round(statistics.mean(per[a]), 3) for a in sorted(per)]},
        "confidence": {"labels": [f"{i / 10:.1f}–{(i + 1) / 10:.1f}" for i in range(10)], "values": bins},
        "rates": {"labels": [r["label"] for r in rates["per_class"]],
                  "values": [round(r["effective_rate"], 3) for r in rates["per_class"]]},
        "oc": {"points": _oc(n=ins["sample_size"], c=ins["acceptance_number"]), "aql": ins["aql"],
               "plan": f"AQL {ins['aql']:g}, lot {ins['lot_size']}, sample {ins['sample_size']}, "
                       f"accept ≤ {ins['acceptance_number']}: {ins['defects']} defects → {ins['status']}"},
    }


def report_html_write(*, story: Story, path: Path) -> Path:
    data = report_data(story)
    payload = json.dumps(data).replace("</", "<\\/")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Assay demo report</title>
<style>body{{font:15px system-ui,sans-serif;margin:2rem;max-width:1100px}} .grid{{display:grid;grid-template-columns:1fr 1fr;gap:2rem}}
.box{{position:relative;height:300px}}</style></head><body>
<h1>Assay demo report</h1>
<p>{html.escape(data["oc"]["plan"])}</p>
<div class="grid">
<section><h2>Accuracy on gold per annotator</h2><div class="box"><canvas id="accuracy"></canvas></div></section>
<section><h2>Consensus confidence</h2><div class="box"><canvas id="confidence"></canvas></div></section>
<section><h2>Effective sampling rate per class</h2><div class="box"><canvas id="rates"></canvas></div></section>
<section><h2>The batch plan's operating-characteristic curve</h2><div class="box"><canvas id="oc"></canvas></div></section>
</div>
<script>{_chartjs()}</script>
<script>
const data = {payload};
const opts = {{animation: false, responsive: true, maintainAspectRatio: false}};
new Chart(document.getElementById("accuracy"), {{type: "bar", data: {{labels: data.accuracy.labels,
  datasets: [{{label: "mean gold score", data: data.accuracy.values}}]}}, options: {{...opts, scales: {{y: {{min: 0, max: 1}}}}}}}});
new Chart(document.getElementById("confidence"), {{type: "bar", data: {{labels: data.confidence.labels,
  datasets: [{{label: "tasks", data: data.confidence.values}}]}}, options: opts}});
new Chart(document.getElementById("rates"), {{type: "bar", data: {{labels: data.rates.labels,
  datasets: [{{label: "effective rate", data: data.rates.values}}]}}, options: {{...opts, scales: {{y: {{min: 0, max: 1}}}}}}}});
new Chart(document.getElementById("oc"), {{type: "line", data: {{labels: data.oc.points.map(p => (100 * p[0]).toFixed(1) + "%"),
  datasets: [{{label: "probability of accepting the batch", data: data.oc.points.map(p => p[1]), pointRadius: 0}}]}},
  options: {{...opts, scales: {{x: {{title: {{display: true, text: "defect rate"}}}}, y: {{min: 0, max: 1}}}}}}}});
</script></body></html>
"""
    path.write_text(page)
    return path
