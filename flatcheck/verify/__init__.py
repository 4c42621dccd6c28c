"""The engine: claims, their registry, and the runner that decides verdicts."""

from flatcheck.verify.claim import (
    KINDS,
    VERDICTS,
    Assumption,
    Budget,
    Claim,
    Constant,
    Evidence,
    Expected,
    constant,
)

__all__ = ["KINDS", "VERDICTS", "Assumption", "Budget", "Claim", "Constant", "Evidence", "Expected", "constant"]
