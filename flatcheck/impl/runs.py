"""Running an implementation for many steps on many independent chains (dynamics claims).

Every step goes through `Implementation.step_many`, so a user's optimizer and flatcheck's own are
run identically; each step gets its own seed derived from the check's seed (the harness draws the
examples of stochastic kinds from it), so a run is a deterministic function of (x0, hp, seed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from flatcheck.impl.protocol import Implementation
from flatcheck.problems import Problem


def step_seed(seed: int, t: int) -> int:
    """The seed of step t of a run seeded with `seed` (distinct per step, reproducible)."""
    return (seed * 1_000_003 + 7919 * t + 1) % (2**62)


def run_chains(
    impl: Implementation,
    problem: Problem,
    x0: torch.Tensor,
    hp: dict[str, Any],
    steps: int,
    seed: int,
    record: Callable[[int, torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """x(steps) for each row of x0 (B, d); `record(t, x(t))` is called at t = 0 … steps."""
    x = x0
    if record:
        record(0, x)
    for t in range(steps):
        x = impl.step_many(problem, x, hp, step_seed(seed, t))
        if record:
            record(t + 1, x)
    return x


def chain_count(impl: Implementation, batched: int, unbatched: int) -> int:
    """How many chains a dynamics check runs: many for a batched step, few for a user's class
    (stepped one optimizer per chain)."""
    return batched if impl.batched_step is not None else unbatched
