"""What each service did, read back through its own API."""
from __future__ import annotations

import json
import statistics
from collections import Counter
from typing import Callable

from assay_shared.demo.crowd import AnnotatorStats, WebhookReceiver
from assay_shared.demo.scenario import Story, _ok


def _all(client, path: str, **params) -> list[dict]:
    rows, offset = [], 0
    while True:
        body = _ok(client.get(path, params={**params, "limit": 500, "offset": offset}), path)
        rows += body["results"]
        if len(body["results"]) < 500:
            return rows
        offset += 500


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _verified(receiver: WebhookReceiver, secret: str) -> int:
    # The receiver side of the webhooks service's signing scheme (Standard Webhooks).
    from assay_webhooks.signing import webhook_verify

    ok = 0
    for headers, body in receiver.requests:
        try:
            webhook_verify(secret=secret, headers=headers, body=body)
            ok += 1
        except Exception:  # noqa: BLE001 - counted as unverified
            pass
    return ok


def report_print(*, story: Story, crowd: dict[str, AnnotatorStats], truth: dict[str, str], receiver: WebhookReceiver,
                 say: Callable[[str], None]) -> None:
    project_id = story.facts["project_id"]
    photos = story.facts["task_photos"]
    progress = _ok(story.lead("assignment").get(f"/projects/{project_id}/progress"), "progress")
    say("\n── assignment ─────────────────────────────────────────────────────────────")
    say(f"   project: {progress['tasks']} tasks, {progress['answered']} answers, {progress['completed']} completed, "
        f"{progress['consensus']} with consensus, {progress['accepted']} accepted in review")
    latencies = [ms for s in crowd.values() for ms in s.push_latency_ms]
    say(f"   tasks pushed to waiting annotators: {sum(s.pushed for s in crowd.values())}; "
        f"import → first task on the socket p50 {_pct(latencies, .5):.0f} ms, max {max(latencies, default=float('nan')):.0f} ms")
    say(f"   {'annotator':<9} {'accuracy':>8} {'answers':>7} {'correct':>7} {'pushed':>6} {'feedback':>8}  errors")
    for s in crowd.values():
        say(f"   {s.name:<9} {s.accuracy:>8.2f} {s.answered:>7} {s.correct:>7} {s.pushed:>6} {s.feedback:>8}  "
            f"{', '.join(sorted(set(s.errors))) or '-'}")

    scoring = story.lead("scoring")
    say("\n── scoring ────────────────────────────────────────────────────────────────")
    gold = _all(scoring, "/gold-scores", project_id=project_id)
    per = {}
    for row in gold:
        per.setdefault(row["annotator"], []).append(row["score"])
    say(f"   gold.scored: {len(gold)} answers on gold tasks; mean score per annotator: "
        + ", ".join(f"{a} {statistics.mean(v):.2f}" for a, v in sorted(per.items())))
    results = _all(scoring, "/consensus", project_id=project_id)
    status = Counter(r["status"] for r in results)
    right = sum(1 for r in results if truth.get(photos.get(r["task_id"], "")) == (r["answer"] or {}).get("label"))
    say(f"   consensus: {status.get('reached', 0)} reached, {status.get('disputed', 0)} disputed "
        f"(method {results[0]['method'] if results else '-'}); {right}/{len(results)} equal the hidden truth; "
        f"mean confidence {statistics.mean([r['confidence'] for r in results]) if results else float('nan'):.3f}")

    review = story.lead("review")
    say("\n── review sampling ────────────────────────────────────────────────────────")
    rates = _ok(review.get("/sampling-rates", params={"project_id": project_id}), "sampling rates")
    say(f"   {rates['decisions']} sampling decisions (one per submission), {rates['sampled']} sampled "
        f"(effective {rates['effective_rate']:.2f}); per class: "
        + ", ".join(f"{r['label']} {r['effective_rate']:.2f}" for r in rates["per_class"]))
    say(f"   reviewer verdicts: {story.facts['reviews']['accepted']} accepted, {story.facts['reviews']['rejected']} rejected")
    ins = story.facts["inspection"]
    say(f"   batch at AQL {ins['aql']:g}, level {ins['inspection_level']}: lot {ins['lot_size']}, code {ins['code_letter']}, "
        f"sample {ins['sample_size']}, Ac {ins['acceptance_number']} / Re {ins['rejection_number']}, "
        f"{ins['reviewed']} reviewed, {ins['defects']} defects → {ins['status']}")
    _review_outcome(story, say)

    metrics = story.lead("metrics")
    say("\n── annotator metrics ──────────────────────────────────────────────────────")
    standings = {(r["annotator"]): r for r in _ok(metrics.get("/standings"), "standings")["results"]}
    say(f"   {'annotator':<9} {'answers':>7} {'mean ms':>8} {'gold':>10} {'vs consensus':>12} {'skill':>6}  standing")
    for row in sorted(_ok(metrics.get("/annotators", params={"project_id": project_id}), "annotators")["results"],
                      key=lambda r: r["annotator"]):
        g, c = row["gold"], row["consensus"]
        standing = standings.get(row["annotator"], {})
        flags = [k for k in ("suspended", "flagged", "qualified") if standing.get(k)]
        say(f"   {row['annotator']:<9} {row['submissions']:>7} {row['mean_duration_ms'] or 0:>8.0f} "
            f"{_fmt(g, 'mean_score', 'count'):>10} {_fmt(c, 'agreement', 'count'):>12} "
            f"{row['skill'] if row['skill'] is not None else float('nan'):>6.2f}  {', '.join(flags) or 'ok'}")

    say("\n── webhooks ───────────────────────────────────────────────────────────────")
    types = Counter(json.loads(body)["type"] for _, body in receiver.requests)
    say(f"   {len(receiver.requests)} signed deliveries received by the customer endpoint, "
        f"{_verified(receiver, story.facts['webhook_secret'])} verified with its secret")
    say("   " + ", ".join(f"{t} {n}" for t, n in sorted(types.items())))


def _review_outcome(story, say) -> None:
    reviews, stages = story.facts["reviews"], story.facts["stages"]
    say("   review items per stage: " + ", ".join(f"{name} {n}" for name, n in stages.items())
        + f"; verdicts: {reviews['escalated']} escalated, {reviews['corrected']} corrected by the expert")
    labels = story.facts["final_labels"]
    by_source = Counter(label["source"] for label in labels)
    say(f"   final labels: {len(labels)} (" + ", ".join(f"{n} from {s}" for s, n in sorted(by_source.items())) + ")")
    export = story.facts["export"]
    say(f"   export of the batch ({'accepted' if export['accepted'] else 'not accepted: asked with include_unaccepted'}),"
        f" JSON Lines, {len(export['lines'])} lines; the first:")
    for line in export["lines"][:2]:
        p = line["provenance"]
        say(f"     {{task {line['task_id'][:8]}…, label {json.dumps(line['label'])}, source {p['source']}, "
            f"method {p['method']}, confidence {p['confidence'] if p['confidence'] is None else round(p['confidence'], 3)}, "
            f"reviewer {p['reviewer']}}}")


def _fmt(block: dict, key: str, count: str) -> str:
    value = block.get(key)
    return f"{value:.2f} ({block.get(count, 0)})" if isinstance(value, (int, float)) else f"- ({block.get(count, 0)})"
