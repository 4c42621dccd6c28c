"""Instance batches: a claim's instances split into independent hypothesis runs, so that one long
claim can spread over several workers (`--jobs`, Dask) instead of holding one of them.

A profile sets the number of batches (`Budget.batches`: 1 in quick and default, 4 in thorough).
Batch j draws its instances from its own seed, a function of the run seed and j alone, and the
merged verdict is a function of the batches' results in batch order — so a claim's result is the
same whether its batches run one after the other or on any number of workers.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flatcheck.verify.claim import Budget
    from flatcheck.verify.runner import ClaimResult

Task = tuple[int, "int | None"]  # (claim index, batch; None: the whole claim in one task)


def batch_seed(run_seed: int, batch: int) -> int:
    """Hypothesis's seed for one batch; with a single batch, the run seed itself."""
    blob = f"{run_seed}|batch|{batch}".encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "little")


def batch_budget(budget: Budget, batch: int | None) -> Budget:
    """The budget of one batch: its seed, and its share of the claim's time limit."""
    if batch is None or budget.batches == 1:
        return budget
    return replace(budget, seed=batch_seed(budget.seed, batch), time_limit_s=budget.time_limit_s / budget.batches)


def tasks(n_claims: int, budget: Budget) -> list[Task]:
    if budget.batches == 1:
        return [(i, None) for i in range(n_claims)]
    return [(i, j) for i in range(n_claims) for j in range(budget.batches)]


class Merger:
    """Collects batch results as they finish, in any order; hands back a claim's merged result
    once its last batch is in (a task without a batch is a whole claim: handed back as it is)."""

    def __init__(self, n_batches: int):
        self.n_batches = n_batches
        self.parts: dict[int, dict[int, ClaimResult]] = {}

    def add(self, claim: int, batch: int | None, result: ClaimResult, blank: ClaimResult) -> ClaimResult | None:
        """`blank` is the claim's record before any result (runner.blank_result), merged into."""
        if batch is None:
            return result
        parts = self.parts.setdefault(claim, {})
        parts[batch] = result
        if len(parts) < self.n_batches:
            return None
        del self.parts[claim]
        return merge(blank, [parts[j] for j in range(self.n_batches)])


def merge(blank: ClaimResult, parts: list[ClaimResult]) -> ClaimResult:
    """One claim's result from its batches' (in batch order), written into `blank`: the first error,
    else the first counterexample, else verified when any instance passed, else inconclusive."""
    res = blank
    for name in ("examples", "passed", "undecided", "out_of_scope", "time_s"):
        setattr(res, name, sum(getattr(p, name) for p in parts))
    res.derivation = next((p.derivation for p in parts if p.derivation), None)
    where = f" (instance batch {{}} of {len(parts)})"
    for verdict in ("error", "falsified"):
        for j, p in enumerate(parts):
            if p.verdict == verdict:
                res.verdict, res.reason = verdict, p.reason + where.format(j + 1)
                res.counterexample, res.traceback = p.counterexample, p.traceback
                res.evidence = _tightest(parts)
                return res
    res.evidence = _tightest(parts)
    if res.passed:
        res.verdict = "verified"
        res.reason = f"{res.passed} admissible instances passed in {len(parts)} instance batches"
        if res.undecided:
            res.reason += f"; {res.undecided} undecided"
    else:
        res.verdict = "inconclusive"
        res.reason = "; ".join(dict.fromkeys(p.reason for p in parts))
    return res


def _tightest(parts: list[ClaimResult]) -> dict[str, Any] | None:
    """The passing instance with the smallest margin over all batches (the first on a tie)."""
    evidence = [p.evidence for p in parts if p.evidence]
    return min(evidence, key=lambda e: _margin(e), default=None)


def _margin(evidence: dict[str, Any]) -> float:
    m = evidence.get("margin")
    try:
        return float(m)
    except (TypeError, ValueError):
        return float("inf")
