"""Checks on the shared crowd data; skipped when ../shared/data is absent."""

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from assay_scoring.numerics.categorical import dawid_skene
from assay_scoring.numerics.encoding import encode_answers

ROOT = Path(os.environ.get("ASSAY_DATA_DIR", Path(__file__).resolve().parents[4].parent / "shared" / "data"))
pytestmark = pytest.mark.skipif(not (ROOT / "crowd").exists(),
                                reason=f"shared data folder {ROOT} is absent (set ASSAY_DATA_DIR)")


def test_dawid_skene_reference_accuracy_on_snow_rte():
    rows = list(csv.reader((ROOT / "crowd" / "snow_rte" / "answers.csv").open()))[1:]
    gold = dict(list(csv.reader((ROOT / "crowd" / "snow_rte" / "gold.csv").open()))[1:])
    a = np.array(rows)
    enc = encode_answers(items=a[:, 0], workers=a[:, 1], labels=a[:, 2])
    r = dawid_skene(items=enc.items, workers=enc.workers, labels=enc.labels)
    pred = dict(zip(enc.item_names, enc.label_names[r.labels]))
    acc = np.mean([pred[t] == g for t, g in gold.items()])
    assert acc == pytest.approx(0.9275, abs=1e-4)  # Crowd-Kit DawidSkene: .928
