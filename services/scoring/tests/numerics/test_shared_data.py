"""Checks on the shared crowd data; skipped when ../shared/data is absent."""

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from assay_scoring.numerics.categorical import categorical_consensus, dawid_skene
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


def _load(name):
    rows = np.array(list(csv.reader((ROOT / "crowd" / name / "answers.csv").open()))[1:])
    gold = np.array(list(csv.reader((ROOT / "crowd" / name / "gold.csv").open()))[1:]).reshape(-1, 2)
    names = np.unique(np.concatenate([rows[:, 2], gold[:, 1]]))
    enc = encode_answers(items=rows[:, 0], workers=rows[:, 1], labels=rows[:, 2], label_names=names)
    gi = enc.item_index(names=gold[:, 0])
    keep = gi >= 0
    return enc, gi[keep], enc.label_index(names=gold[keep, 1])


CROWD_SETS = ("acr_cf_amt", "acr_ms", "acr_sp_amt", "acr_zencrowd_all", "gal_adult",
              "gal_barzan", "snow_rte", "snow_temp", "snow_wsd")


def test_default_consensus_meets_its_documented_mean_accuracy():
    # given: the nine crowd sets; when: the default runs with its one fixed configuration
    accs = []
    for name in CROWD_SETS:
        enc, gi, gl = _load(name)
        r = categorical_consensus(items=enc.items, workers=enc.workers, labels=enc.labels, n_classes=enc.n_classes)
        accs.append(float((r.labels[gi] == gl).mean()))
    # then: the mean is the figure in docs/scoring-numerics.md (.8635; the .866 goal is not reached yet)
    assert np.mean(accs) >= 0.8634
    assert min(accs) >= 0.73  # no set collapses (gal_barzan is the lowest at .731)
