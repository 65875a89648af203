"""Pure-numerical core of the scoring service (numpy / scipy / shapely only)."""

from .agreement import fleiss_kappa, krippendorff_alpha, pairwise_cohen_kappa, per_class_alpha
from .box_batch import BoxBatch, box_consensus_batch
from .categorical import (
    DEFAULT_CONFIG,
    DEFAULT_METHOD,
    ConsensusResult,
    categorical_consensus,
    dawid_skene,
    glad,
    mace,
    majority_vote,
    multi_choice_consensus,
    one_coin_dawid_skene,
    weighted_vote,
)
from .consensus_objects import box_consensus, keypoint_consensus, polygon_consensus, span_consensus
from .encoding import EncodedAnswers, encode_answers
from .errors import AggregationInputError, AnswerValidationError
from .gold_objects import score_boxes, score_keypoints, score_polygons
from .gold_simple import score_free_text, score_multi_choice, score_single_choice, score_spans
from .results import GoldError, GoldScore

__all__ = [
    "DEFAULT_CONFIG", "DEFAULT_METHOD", "AggregationInputError", "AnswerValidationError", "BoxBatch",
    "ConsensusResult", "EncodedAnswers", "GoldError", "GoldScore", "box_consensus", "box_consensus_batch",
    "categorical_consensus", "dawid_skene", "encode_answers", "fleiss_kappa", "glad", "keypoint_consensus",
    "krippendorff_alpha", "mace", "majority_vote", "multi_choice_consensus", "one_coin_dawid_skene",
    "pairwise_cohen_kappa", "per_class_alpha", "polygon_consensus", "score_boxes", "score_free_text",
    "score_keypoints", "score_multi_choice", "score_polygons", "score_single_choice", "score_spans",
    "span_consensus", "weighted_vote",
]
