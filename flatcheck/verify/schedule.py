"""The order in which a machine's worker processes start the tasks: the longest first.

A run on N workers ends when its last task ends: a long claim started last leaves the other cores
idle while it runs. Started longest first (longest-processing-time-first), the idle tail is at most
about one of the short claims. A claim's expected time is what it took the last time it ran under
the same profile and device against the same implementation (a user's class steps far slower than
the built-in one) — kept beside flatcheck's cache (`flatcheck.cache.root()`), one small JSON file
per profile and device, updated by every run (`record`). A claim never timed before
starts ahead of those that were (it may be long); a run with no record at all starts the claims
that cap their instances — training runs, the slowest — first.

The order changes no result (every instance's seed comes from the run seed and the instance),
only when each task finishes. `--no-cache` reads and writes no record: the fallback order then.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from flatcheck import cache
from flatcheck.verify.claim import Budget, Claim


class _Task(Protocol):
    claim: Claim
    budget: Budget
    impl: Any


def key(claim_id: str, impl: str | None) -> str:
    """The record's entry of a claim run against the implementation named `impl` (None: none)."""
    return claim_id if impl is None else f"{claim_id} [{impl}]"


def _path(budget: Budget) -> Path:
    return cache.root() / "times" / f"{budget.profile}-{budget.device}.json"


def expected_times(budget: Budget) -> dict[str, float]:
    """`key` -> the claim's last recorded time (seconds) under this budget's profile and device."""
    if not cache.enabled():
        return {}
    try:
        data = json.loads(_path(budget).read_text())
    except (OSError, ValueError):  # none yet, or unreadable: the fallback order
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))}


def record(budget: Budget, times: dict[str, float]) -> None:
    """Keep these claims' times, by `key` (the others' stay as they were), for the next run's order."""
    if not times or not cache.enabled():
        return
    kept = expected_times(budget) | {k: round(v, 3) for k, v in times.items()}
    cache.write_atomic(_path(budget), json.dumps(kept, sort_keys=True).encode())


def longest_first(tasks: Sequence[_Task]) -> list[int]:
    """The indices of `tasks` in the order to start them (see the module docstring)."""
    if not tasks:
        return []
    times = expected_times(tasks[0].budget)

    def order(t: int) -> tuple[bool, bool, float]:
        task = tasks[t]
        impl = getattr(task.impl, "name", None) if task.claim.algorithm else None
        e = times.get(key(task.claim.id, impl))
        if e is None:
            return (False, task.claim.max_examples is None, 0.0)
        # A batch of a claim split into several is expected to take its share of the claim's time.
        return (True, False, -e / task.budget.batches)

    return sorted(range(len(tasks)), key=order)
