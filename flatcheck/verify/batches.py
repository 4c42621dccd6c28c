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

from flatcheck.verify.claim import Budget
from flatcheck.verify.result import ClaimResult
from flatcheck.verify.verdict import merge

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
        """`blank` is the claim's record before any result (`flatcheck.verify.result.blank_result`), merged into."""
        if batch is None:
            return result
        parts = self.parts.setdefault(claim, {})
        parts[batch] = result
        if len(parts) < self.n_batches:
            return None
        del self.parts[claim]
        return merge(blank, [parts[j] for j in range(self.n_batches)])
