"""Exact (Clopper–Pearson) one-sided bounds on a probability from a binomial count, and Hoeffding's
tail bound for a sum of bounded variables."""

from __future__ import annotations

import math


def clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    """One-sided (1 − alpha) lower and upper bounds on p from k successes in n Bernoulli(p) trials:
    P(lower > p) ≤ alpha and P(upper < p) ≤ alpha for every p, exactly (no normal approximation)."""
    if not 0 <= k <= n or n < 1:
        raise ValueError(f"a binomial count needs 0 ≤ k ≤ n, n ≥ 1 (got k={k}, n={n})")
    # Imported here: scipy is slow to import and most checks never need it.
    from scipy.special import betaincinv

    lower = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha))
    upper = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - alpha))
    return lower, upper


def hoeffding_p(total: float, m: int, mean: float, top: float) -> float:
    """Two-sided p-value bound for a sum `total` of m i.i.d. variables in [0, top] of the given mean:
    2·exp(−m·kl(x̄/top ‖ mean/top)) (Hoeffding 1963, Theorem 1), valid whatever their law."""
    if m == 0 or top == 0:
        return 1.0
    a, mu = min(max(total / (m * top), 0.0), 1.0), mean / top
    if mu in (0.0, 1.0):
        return 1.0 if a == mu else 0.0

    def kl(x: float, y: float) -> float:
        return (x * math.log(x / y) if x > 0 else 0.0) + ((1 - x) * math.log((1 - x) / (1 - y)) if x < 1 else 0.0)

    return min(1.0, 2 * math.exp(-m * kl(a, mu)))
