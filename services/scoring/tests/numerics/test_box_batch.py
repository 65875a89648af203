"""box_consensus_batch: the separate clustering IoU (``cluster_iou``), hand-computed."""

import numpy as np

from assay_scoring.numerics.box_batch import BoxBatch, box_consensus_batch


def _batch():
    # given: annotators 0 and 1 draw one object loosely (IoU = 57/143 = 0.399), annotator 2 draws nothing
    boxes = np.array([[0.0, 0.0, 10.0, 10.0], [4.3, 0.0, 10.0, 10.0]])
    return [BoxBatch(boxes=boxes, annotators=np.array([0, 1]), answered_by=np.array([0, 1, 2]))]


def test_default_clustering_keeps_two_loose_boxes_apart():
    # when: clustered at IoU 0.5, each box is its own cluster with support 1/3 < quorum 0.5
    results, weights = box_consensus_batch(batches=_batch(), n_annotators=3, rounds=0)
    # then: nothing is kept and weights stay 1
    assert results[0].geometry == [] and weights.tolist() == [1.0, 1.0, 1.0]


def test_loose_cluster_iou_joins_them_and_keeps_the_object():
    # when: clustered at IoU 0.3, both boxes form one cluster with support 2/3
    results, _ = box_consensus_batch(batches=_batch(), n_annotators=3, rounds=0, cluster_iou=0.3)
    r = results[0]
    # then: one box kept; equal-weight median of two values takes the lower one on each edge
    assert len(r.geometry) == 1 and r.support.tolist() == [2 / 3]
    assert np.allclose(r.geometry[0], [0.0, 0.0, 10.0, 10.0])
    assert sorted(r.members[0].tolist()) == [0, 1]
