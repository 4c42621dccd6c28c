"""The engine: claims, their registry, and the runner that decides verdicts."""

from flatcheck.verify.claim import KINDS, VERDICTS, Assumption, Budget, Claim, Evidence, Expected

__all__ = ["KINDS", "VERDICTS", "Assumption", "Budget", "Claim", "Evidence", "Expected"]
