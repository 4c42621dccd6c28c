"""Deciding as soon as the evidence suffices: a Monte Carlo mean drawn in geometric batches, with
its error rate held over the optional stopping.

A check draws n₁ = `first`, then doubles (n₂ = 2n₁, n₃ = 4n₁, …) up to its budget `cap`, never
above, and stops at the first look whose interval decides its verdict (excludes the threshold on
either side). Look j's interval is the check's own fixed-n interval (`mean_interval`, or
`bernstein_interval` where the range is known: one interval definition per meaning) at a level
α_j with Σ_j α_j = α, so by the union bound every interval up to the last look covers the mean at
once with probability ≥ 1 − α: whichever look a check stops at, its interval is a valid 1 − α
interval, and a verdict read from it errs with probability ≤ α — the same guarantee as the
fixed-n interval at the cap.

The spending: the cap keeps 1 − EARLY_SHARE = 90% of α, so a check that runs to its cap has the
power of today's fixed-n test (at the per-instance α of the catalog, ~1e-6, its interval is 0.4%
wider; α/2 at the cap made it 3% wider and lost a marginal falsification of ahn2024.eq5, and
6/(π²j²)-spending over unbounded looks would make it ~15% wider); the earlier looks share the
other 10% equally (each interval ~13% wider than at α): they stop the clear cases. A single look
(`first ≥ cap`) is exactly the fixed-n interval at α: checks whose draws are one batched tensor
call, where stopping early saves microseconds, keep it (`first_look`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from flatcheck.stats.intervals import mean_interval

# The smallest first look of a stopped check: the normal interval is already in use at a few
# hundred draws (a user's class in the quick profile draws 512); below ~100 its tails are not.
MIN_LOOK = 128
# The share of α the looks before the cap spend (see the module's docstring).
EARLY_SHARE = 0.1
# At most this many looks: the first is cap/8 (or MIN_LOOK, whichever is larger).
MAX_LOOKS = 4

Interval = Callable[[torch.Tensor, float], tuple[torch.Tensor, torch.Tensor]]


def look_sizes(cap: int, first: int) -> list[int]:
    """Cumulative draws at each look: first, 2·first, 4·first, … below cap, then cap itself."""
    sizes = []
    n = max(1, first)
    while n < cap:
        sizes.append(n)
        n *= 2
    return sizes + [cap]


def spend(alpha: float, looks: int) -> list[float]:
    """The error rate of each look (sums to alpha): EARLY_SHARE·alpha shared by the looks before
    the last, the rest at the last."""
    if looks == 1:
        return [alpha]
    return [EARLY_SHARE * alpha / (looks - 1)] * (looks - 1) + [(1 - EARLY_SHARE) * alpha]


def look_seed(seed: int, look: int) -> int:
    """The seed of look j's draws: the check's own seed at look 0, distinct per look after it."""
    return seed if look == 0 else (seed * 1_000_033 + 104_729 * look + 17) % (2**62)


def first_look(cap: int, batched: bool) -> int:
    """Where a check's first look falls: at the cap (one look: the fixed-n interval) when its draws
    are one batched tensor call; else at cap/8 but no fewer than MIN_LOOK draws."""
    if batched:
        return cap
    return max(MIN_LOOK, cap >> (MAX_LOOKS - 1))


def one_sided(mean: torch.Tensor, half: torch.Tensor, edge: float, column: int = 0) -> bool | None:
    """A one-sided bound E ≤ edge read from an interval: False when it lies wholly above the edge,
    True when wholly at or below it, None while it straddles the edge (undecided)."""
    low, high = float(mean[column] - half[column]), float(mean[column] + half[column])
    return False if low > edge else True if high <= edge else None


def columns(k: int, interval: Interval = mean_interval) -> Interval:
    """The interval of the first k columns only (the others carry what a check reads besides)."""
    return lambda samples, a: interval(samples[:, :k], a)


@dataclass
class Stopped:
    """Where a sequential check stopped: what its judge returned (for `sequential_interval`, the
    interval: mean and half-width per coordinate) at the level `alpha_look` of the look it stopped
    at, every draw made so far, and the counts."""

    result: Any
    samples: torch.Tensor
    draws: int
    cap: int
    look: int
    looks: int
    alpha_look: float
    decided_early: bool

    @property
    def mean(self) -> torch.Tensor:
        return self.result[0]

    @property
    def half(self) -> torch.Tensor:
        return self.result[1]

    def record(self, draws_per_row: int = 1) -> dict[str, int | float]:
        """The counts a check puts in its evidence (draws_per_row: draws behind one row, e.g. 2 for a pair)."""
        return {
            "draws_spent": draws_per_row * self.draws,
            "draws_cap": draws_per_row * self.cap,
            "looks": self.look,
            "looks_planned": self.looks,
        }


def sequential(
    draw: Callable[[int, int], torch.Tensor],
    cap: int,
    alpha: float,
    judge: Callable[[torch.Tensor, float], tuple[Any, bool]],
    first: int | None = None,
) -> Stopped:
    """Draw in geometric batches until the judge calls the verdict decided, or the cap.

    draw(m, j): m new i.i.d. rows (m, …) for look j (0-based), independent of earlier looks'
    (look 0 may reuse the check's own seed, so that one look reproduces today's draws);
    judge(samples, a): (what the check reads, decided) from every row so far by its fixed-n rule
    at level a — decided when that rule's verdict at level a is final (its interval excludes the
    threshold on either side). At the cap the judge's result is returned whatever it says, and the
    caller decides from it as at fixed n."""
    sizes = look_sizes(cap, cap if first is None else first)
    alphas = spend(alpha, len(sizes))
    parts: list[torch.Tensor] = []
    have = 0
    for j, (n, a) in enumerate(zip(sizes, alphas)):
        parts.append(draw(n - have, j))
        have = n
        samples = parts[0] if len(parts) == 1 else torch.cat(parts)
        result, decided = judge(samples, a)
        last = j == len(sizes) - 1
        if last or decided:
            break
    return Stopped(result, samples, n, cap, j + 1, len(sizes), a, not last)


def sequential_interval(
    draw: Callable[[int, int], torch.Tensor],
    cap: int,
    alpha: float,
    decisive: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], bool],
    first: int | None = None,
    interval: Interval = mean_interval,
) -> Stopped:
    """`sequential` for a mean: interval(samples, a) is the check's fixed-n interval at level a,
    decisive(mean, half, samples) whether it decides the verdict."""

    def judge(samples: torch.Tensor, a: float) -> tuple[tuple[torch.Tensor, torch.Tensor], bool]:
        mean, half = interval(samples, a)
        return (mean, half), decisive(mean, half, samples)

    return sequential(draw, cap, alpha, judge, first)
