"""Categorical aggregation: majority vote, weighted vote, Dawid-Skene, one-coin DS, GLAD, MACE."""

from ._common import ConsensusResult
from .dawid_skene import dawid_skene, one_coin_dawid_skene
from .default import DEFAULT_CONFIG, DEFAULT_METHOD, categorical_consensus, multi_choice_consensus
from .glad import glad
from .mace import mace
from .majority import majority_vote, weighted_vote

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_METHOD",
    "ConsensusResult",
    "categorical_consensus",
    "dawid_skene",
    "glad",
    "mace",
    "majority_vote",
    "multi_choice_consensus",
    "one_coin_dawid_skene",
    "weighted_vote",
]
