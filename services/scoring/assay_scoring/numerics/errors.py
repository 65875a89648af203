"""Error types raised by the numerical core."""

from __future__ import annotations


class AnswerValidationError(ValueError):
    """An answer or gold answer does not have the documented shape.

    ``path`` names the offending field (for example ``objects[2].bbox[2]``) and
    ``reason`` says what is wrong with it; the service maps this to a 400.
    """

    def __init__(self, *, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


class AggregationInputError(ValueError):
    """Arrays handed to an aggregator are inconsistent (lengths, ranges, gold)."""
