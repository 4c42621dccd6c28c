"""Exact (Clopper–Pearson) one-sided bounds on a probability from a binomial count."""

from __future__ import annotations


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
