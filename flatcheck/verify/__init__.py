"""The engine: claims, their registry, and the runner that decides verdicts."""

from flatcheck.verify.claim import (
    FAITHFULNESS,
    KINDS,
    VERDICTS,
    Assumption,
    Budget,
    Claim,
    Constant,
    Evidence,
    Expected,
    Faithful,
    constant,
)

__all__ = [
    "FAITHFULNESS",
    "KINDS",
    "VERDICTS",
    "Assumption",
    "Budget",
    "Claim",
    "Constant",
    "Evidence",
    "Expected",
    "Faithful",
    "constant",
]
