"""A scaling exponent fitted from repeated runs, with a confidence interval (rate claims)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ExponentFit:
    """Least-squares slope of log y against log x, with one-sided (1 − alpha) confidence bounds."""

    exponent: float
    lower: float
    upper: float
    std_error: float
    dof: float

    def decide(self, claimed: float) -> bool | None:
        """An upper-bound law y = O(x^claimed): violated when even the lower bound exceeds the claimed
        exponent, holds when the upper bound is at or below it, otherwise the interval is too wide."""
        if self.lower > claimed:
            return False
        return True if self.upper <= claimed else None


def loglog_exponent(xs: list[float], samples: list[torch.Tensor], alpha: float) -> ExponentFit:
    """Fit log y = a + p·log x to the runs: samples[j] holds the positive y of the independent runs
    at x = xs[j]. p is the least-squares slope through the levels' mean log y, so its variance is
    Σ c_j² s_j²/n_j with each level's own sample variance s_j² (no common variance assumed across
    levels); the bounds use Student's t with Welch–Satterthwaite degrees of freedom."""
    lx = [math.log(v) for v in xs]
    mx = sum(lx) / len(lx)
    sxx = sum((a - mx) ** 2 for a in lx)
    coef = [(a - mx) / sxx for a in lx]
    logs = [torch.log(s.double()) for s in samples]
    slope = sum(c * float(y.mean()) for c, y in zip(coef, logs))
    terms = [c * c * float(y.var()) / y.numel() if y.numel() > 1 else math.inf for c, y in zip(coef, logs)]
    var = sum(terms)
    if var == 0.0 or math.isinf(var):
        half, dof = (0.0 if var == 0.0 else math.inf), math.inf
    else:
        dof = var**2 / sum(t * t / (y.numel() - 1) for t, y in zip(terms, logs) if t > 0)
        # Imported here: scipy costs seconds to import and every flatcheck process imports stats.
        from scipy.special import stdtrit

        half = float(stdtrit(dof, 1 - alpha)) * math.sqrt(var)
    return ExponentFit(slope, slope - half, slope + half, math.sqrt(var), dof)
