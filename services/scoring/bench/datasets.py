"""Loaders for the shared crowd data sets and a Dawid-Skene data generator."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assay_scoring.numerics.encoding import EncodedAnswers, encode_answers

CROWD_SETS = (
    "acr_cf_amt", "acr_ms", "acr_sp_amt", "acr_zencrowd_all", "gal_adult",
    "gal_barzan", "snow_rte", "snow_temp", "snow_wsd",
)


def data_dir() -> Path:
    """Folder with the shared data (env ASSAY_DATA_DIR, default ../shared/data beside the repo)."""
    env = os.environ.get("ASSAY_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


@dataclass
class CrowdSet:
    name: str
    enc: EncodedAnswers
    gold_items: np.ndarray
    gold_labels: np.ndarray
    raw: tuple[np.ndarray, np.ndarray, np.ndarray]


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[1:]


def load_crowd(name: str, root: Path | None = None) -> CrowdSet:
    """Read answers.csv and gold.csv of one crowd/ data set."""
    folder = (root or data_dir()) / "crowd" / name
    ans = np.array(_read_csv(folder / "answers.csv"), dtype=str)
    gold = np.array(_read_csv(folder / "gold.csv"), dtype=str).reshape(-1, 2)
    gold_label_set = np.unique(np.concatenate([ans[:, 2], gold[:, 1]]))
    enc = encode_answers(items=ans[:, 0], workers=ans[:, 1], labels=ans[:, 2], label_names=gold_label_set)
    gi = enc.item_index(names=gold[:, 0])
    keep = gi >= 0
    gl = enc.label_index(names=gold[keep, 1])
    return CrowdSet(name=name, enc=enc, gold_items=gi[keep], gold_labels=gl,
                    raw=(ans[:, 0], ans[:, 1], ans[:, 2]))


def generate_dawid_skene(
    *, n_items: int, n_workers: int, n_classes: int, answers_per_item: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample answers from a Dawid-Skene model.

    True labels ~ Dirichlet(2)-distributed class priors; each worker has accuracy
    a_w ~ Beta(4, 1.5) spread as a confusion matrix whose off-diagonal mass follows a
    per-worker Dirichlet(1) row; each item gets ``answers_per_item`` distinct random
    workers. Returns (items, workers, labels, truth).
    """
    rng = np.random.default_rng(seed)
    priors = rng.dirichlet(np.full(n_classes, 2.0))
    truth = rng.choice(n_classes, size=n_items, p=priors)
    acc = rng.beta(4.0, 1.5, size=n_workers)
    off = rng.dirichlet(np.ones(n_classes), size=(n_workers, n_classes))
    eye = np.eye(n_classes, dtype=bool)
    off = np.where(eye[None], 0.0, off)
    off /= off.sum(axis=2, keepdims=True)
    conf = off * (1 - acc)[:, None, None]
    conf[:, eye] = acc[:, None]
    items = np.repeat(np.arange(n_items), answers_per_item)
    workers = np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :answers_per_item].ravel() \
        if n_workers <= 64 else _distinct_workers(rng, n_items, n_workers, answers_per_item)
    cum = np.cumsum(conf[workers, truth[items]], axis=1)
    u = rng.random(items.size)[:, None]
    labels = np.minimum((u > cum).sum(axis=1), n_classes - 1)
    return items, workers.astype(np.int64), labels.astype(np.int64), truth


def _distinct_workers(rng: np.random.Generator, n_items: int, n_workers: int, k: int) -> np.ndarray:
    start = rng.integers(0, n_workers, size=n_items)
    step = rng.integers(1, n_workers // k, size=n_items)
    return ((start[:, None] + step[:, None] * np.arange(k)[None, :]) % n_workers).ravel()
