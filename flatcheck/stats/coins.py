"""Exact sign-coin tests of independence and symmetry for draws of a random vector.

Where a law is symmetric under flipping each coordinate's sign independently (i.i.d. symmetric
coordinates; the uniform law on the sphere), the signs of a draw's coordinates are independent fair
coins, independent of the magnitudes. So sign(z_a·z_b) is a fair coin for every pair a < b, and for
two independent draws z, z′ the coins sign(z_a z_{a+1})·sign(z′_a z′_{a+1}) over a are independent and
fair — whatever the law, with exact binomial tests. Both are unchanged by z → −z (a draw read up to
its sign, NSO's pairs W ± U).
"""

from __future__ import annotations

from typing import Any

import torch


def binomial_p(heads: int, n: int, p: float = 0.5) -> float:
    """The exact two-sided binomial p-value of `heads` successes in n trials of probability p (a
    fair coin by default); p = 0 or 1 allows only 0 or n successes."""
    if n == 0:
        return 1.0
    if p <= 0.0 or p >= 1.0:
        return 1.0 if heads == (n if p >= 1.0 else 0) else 0.0
    from scipy.stats import binomtest

    return float(binomtest(heads, n, p).pvalue)


def coins(signs: torch.Tensor) -> tuple[int, int]:
    """(heads, tosses) of ±1/0 coins, zeros (a coordinate drawn exactly 0) left out."""
    return int((signs > 0).sum()), int((signs != 0).sum())


def coordinates_test(flat: torch.Tensor, alpha: float) -> tuple[float, float, dict[str, Any]]:
    """Independent, symmetric coordinates of draws flat (n, d): an exact two-sided binomial test of
    sign(z_a·z_b) per pair a < b at alpha split among the pairs (Bonferroni); returns (the smallest
    p-value, its level, the worst pair's counts)."""
    d = flat.shape[1]
    pairs = [(a, b) for a in range(d) for b in range(a + 1, d)]
    counts = {ab: coins(torch.sign(flat[:, ab[0]] * flat[:, ab[1]])) for ab in pairs}
    p_worst, worst = min(((binomial_p(*c), ab) for ab, c in counts.items()), default=(1.0, None))
    heads, tosses = counts.get(worst, (0, 0))
    return p_worst, alpha / max(len(pairs), 1), {"pair": worst, "same_sign": heads, "draws": tosses}


def fresh_test(z: torch.Tensor) -> tuple[float, dict[str, Any]]:
    """Independent draws z (n, steps, count, d), each chain's draws j and j + 1 of a step and the
    first draws of consecutive steps (a tree: its coins are mutually independent): one exact binomial
    test of the coins; returns (p-value, counts). One draw for all j, a draw kept or negated across
    steps: every coin heads."""
    n, steps, count, d = z.shape
    edges = [(z[:, t, j], z[:, t, j + 1]) for t in range(steps) for j in range(count - 1)]
    edges += [(z[:, t, 0], z[:, t + 1, 0]) for t in range(steps - 1)]
    flips = torch.cat(
        [(torch.sign(a[:, :-1] * a[:, 1:]) * torch.sign(b[:, :-1] * b[:, 1:])).reshape(-1) for a, b in edges]
    )
    heads, tosses = coins(flips)
    return binomial_p(heads, tosses), {"agreeing": heads, "coins": tosses}
