"""Inter-annotator agreement of a project, from each annotator's latest answer per task."""
from __future__ import annotations

import math
from uuid import UUID

import numpy as np

from assay_shared.errors import ConflictError

from assay_scoring.core.selectors import project_latest_answers, project_settings_get
from assay_scoring.numerics.agreement import fleiss_kappa, krippendorff_alpha, pairwise_cohen_kappa, per_class_alpha
from assay_scoring.numerics.encoding import encode_answers
from assay_scoring.numerics.errors import AggregationInputError

LEVELS = ("nominal", "ordinal", "interval")


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _alpha(**kwargs) -> float | None:
    try:
        return _num(krippendorff_alpha(**kwargs))
    except (AggregationInputError, ValueError):
        return None


def project_agreement(*, project_id: UUID, min_overlap: int = 1) -> dict:
    """Krippendorff's alpha (nominal, ordinal, interval), Fleiss' kappa, per-class figures and
    pairwise Cohen's kappa. Ordinal and interval levels take the project's label order as the scale."""
    project = project_settings_get(project_id=project_id)
    if project.answer_type not in ("single_choice", "multi_choice"):
        raise ConflictError(f"agreement is computed for single_choice and multi_choice projects; this one is "
                            f"{project.answer_type} (its consensus results carry a per-task agreement)")
    rows = project_latest_answers(project_id=project_id)
    if project.answer_type == "multi_choice":
        return _multi(project, rows)
    names = list(project.labels) or sorted({r[2]["label"] for r in rows})
    enc = encode_answers(items=[r[0] for r in rows], workers=[r[1] for r in rows],
                         labels=[r[2]["label"] for r in rows], label_names=names)
    base = dict(items=enc.items, workers=enc.workers, labels=enc.labels)
    k = max(enc.n_classes, 1)
    alpha = {level: _alpha(**base, level=level, n_classes=k) for level in LEVELS}
    try:
        fleiss = fleiss_kappa(**base, n_classes=k)
        fleiss_out = {"kappa": _num(fleiss.kappa), "observed": _num(fleiss.observed),
                      "expected": _num(fleiss.expected)}
        fleiss_class = fleiss.per_class
    except AggregationInputError:
        fleiss_out, fleiss_class = None, np.full(k, np.nan)
    class_alpha = per_class_alpha(**base, n_classes=k) if rows else np.full(k, np.nan)
    pairs = pairwise_cohen_kappa(**base, n_workers=enc.n_workers, n_classes=k, min_overlap=min_overlap)
    pair_rows = []
    for a in range(enc.n_workers):
        for b in range(a + 1, enc.n_workers):
            if pairs.overlap[a, b] >= max(min_overlap, 1):
                pair_rows.append({"annotator_a": str(enc.worker_names[a]), "annotator_b": str(enc.worker_names[b]),
                                  "cohen_kappa": _num(pairs.kappa[a, b]), "overlap": int(pairs.overlap[a, b])})
    return {
        "project_id": project_id, "answer_type": project.answer_type, "n_tasks": enc.n_items,
        "n_annotators": enc.n_workers, "n_answers": len(rows), "krippendorff_alpha": alpha,
        "fleiss_kappa": fleiss_out,
        "per_class": [{"label": str(name), "krippendorff_alpha": _num(class_alpha[i]),
                       "fleiss_kappa": _num(fleiss_class[i])} for i, name in enumerate(enc.label_names)],
        "pairs": pair_rows,
    }


def _multi(project, rows) -> dict:
    """Multi choice: each label is its own yes/no question; alpha per label."""
    options = list(project.labels) or sorted({x for r in rows for x in r[2]["labels"]})
    items = [r[0] for r in rows]
    workers = [r[1] for r in rows]
    per_class = []
    for option in options:
        votes = ["yes" if option in r[2]["labels"] else "no" for r in rows]
        enc = encode_answers(items=items, workers=workers, labels=votes, label_names=["no", "yes"])
        per_class.append({"label": option, "krippendorff_alpha": _alpha(items=enc.items, workers=enc.workers,
                                                                        labels=enc.labels, n_classes=2),
                          "fleiss_kappa": None})
    return {"project_id": project.project_id, "answer_type": project.answer_type,
            "n_tasks": len(set(items)), "n_annotators": len(set(workers)), "n_answers": len(rows),
            "krippendorff_alpha": {level: None for level in LEVELS}, "fleiss_kappa": None,
            "per_class": per_class, "pairs": []}
