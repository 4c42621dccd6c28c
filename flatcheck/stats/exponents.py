"""Scaling exponents and straight-line fits with confidence intervals (rate, order and limit claims).

Every interval here is one-sided at level 1 − alpha on each side it is used on, so a rule that
falsifies on one bound spends alpha of the claim's false-alarm budget and no more:
- `loglog_exponent`: repeated runs at each level, the slope through the levels' mean log y;
- `mean_exponent`: the slope of log(mean y), each level's mean with its Monte Carlo error (delta
  method) — a level of one value is a deterministic run and carries no sampling error;
  `paired_mean_exponent` the same with each mean estimated through a control variate;
- `line_fit`: one value per x with no replicate, the interval from the fit's own residual scatter
  (ordinary least squares, Student's t with n − 2 degrees of freedom): what the points do not
  share with the line — round-off, an inner solver's error, a pre-asymptotic term the line cannot
  follow — counts as noise and widens the interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def _t_quantile(dof: float, alpha: float) -> float:
    # Imported here: scipy costs seconds to import and every flatcheck process imports stats.
    from scipy.special import stdtrit

    return float(stdtrit(dof, 1 - alpha))


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

    def decide_decay(self, claimed: float) -> bool | None:
        """A decay law y = O(x^claimed) as x → 0 (y shrinks at least like x^claimed): violated when
        even the upper bound of the slope is below the claimed exponent, holds when the lower bound
        reaches it, otherwise the ladder cannot tell."""
        if self.upper < claimed:
            return False
        return True if self.lower >= claimed else None


def _slope_interval(lx: list[float], centres: list[float], variances: list[float], counts: list[int], alpha: float):
    """Least-squares slope of the centres against lx, each centre with its own variance (none
    assumed common across levels); bounds by Student's t with Welch–Satterthwaite degrees of freedom."""
    return _slope_interval_parts(lx, centres, [[(v, n)] for v, n in zip(variances, counts)], alpha)


def _slope_interval_parts(
    lx: list[float], centres: list[float], parts: list[list[tuple[float, int]]], alpha: float
) -> ExponentFit:
    """`_slope_interval` for centres whose variance sums independent parts, parts[j] = [(variance,
    runs behind it), …]: Welch–Satterthwaite over every part."""
    mx = sum(lx) / len(lx)
    sxx = sum((a - mx) ** 2 for a in lx)
    coef = [(a - mx) / sxx for a in lx]
    slope = sum(c * y for c, y in zip(coef, centres))
    terms = [c * c * v for c, level in zip(coef, parts) for v, _ in level]
    counts = [n for level in parts for _, n in level]
    var = sum(terms)
    if var == 0.0 or math.isinf(var):
        half, dof = (0.0 if var == 0.0 else math.inf), math.inf
    else:
        dof = var**2 / sum(t * t / (n - 1) for t, n in zip(terms, counts) if t > 0)
        half = _t_quantile(dof, alpha) * math.sqrt(var)
    return ExponentFit(slope, slope - half, slope + half, math.sqrt(var), dof)


def loglog_exponent(xs: list[float], samples: list[torch.Tensor], alpha: float) -> ExponentFit:
    """Fit log y = a + p·log x to the runs: samples[j] holds the positive y of the independent runs
    at x = xs[j]. p is the least-squares slope through the levels' mean log y, so its variance is
    Σ c_j² s_j²/n_j with each level's own sample variance s_j² (no common variance assumed across
    levels); the bounds use Student's t with Welch–Satterthwaite degrees of freedom."""
    logs = [torch.log(s.double()) for s in samples]
    variances = [float(y.var()) / y.numel() if y.numel() > 1 else math.inf for y in logs]
    lx = [math.log(v) for v in xs]
    return _slope_interval(lx, [float(y.mean()) for y in logs], variances, [y.numel() for y in logs], alpha)


def mean_exponent(xs: list[float], samples: list[torch.Tensor], alpha: float) -> ExponentFit:
    """Fit log ȳ = a + p·log x to the levels' mean y (the law is about the mean error): samples[j]
    holds the y of the independent runs at x = xs[j]. Var log ȳ_j ≈ s_j²/(n_j ȳ_j²) (delta method);
    one value at a level is a deterministic run, exact (no sampling error)."""
    s64 = [s.double() for s in samples]
    means = [float(s.mean()) for s in s64]
    variances = [float(s.var()) / (s.numel() * m * m) if s.numel() > 1 else 0.0 for s, m in zip(s64, means)]
    lx = [math.log(v) for v in xs]
    centres = [math.log(max(m, 1e-300)) for m in means]
    return _slope_interval(lx, centres, variances, [s.numel() for s in s64], alpha)


def paired_mean_exponent(
    xs: list[float], reference: list[torch.Tensor], differences: list[torch.Tensor], alpha: float
) -> ExponentFit:
    """`mean_exponent` with a control variate: the mean y at x = xs[j] estimated as the mean of many
    runs of a reference (`reference[j]`) plus the mean difference, run by run, between the runs under
    test and the reference on the same draws (`differences[j]`, independent of `reference[j]`). Both
    parts are unbiased, so their sum is; its variance is s²_ref/n_ref + s²_diff/n_diff, small when
    few runs under test track the reference closely (a correct implementation: round-off)."""
    centres, parts = [], []
    for r, d in zip(reference, differences):
        r64, d64 = r.double(), d.double()
        m = float(r64.mean() + d64.mean())
        centres.append(math.log(max(m, 1e-300)))
        parts.append([(float(v.var()) / (v.numel() * m * m), v.numel()) for v in (r64, d64)])
    return _slope_interval_parts([math.log(v) for v in xs], centres, parts, alpha)


@dataclass(frozen=True)
class LineFit:
    """y ≈ intercept + slope·x by ordinary least squares, with one-sided (1 − alpha) bounds on each
    coefficient from the residual scatter (n − 2 degrees of freedom)."""

    intercept: float
    slope: float
    intercept_half: float
    slope_half: float
    residual_sd: float
    dof: int

    @property
    def intercept_interval(self) -> tuple[float, float]:
        return self.intercept - self.intercept_half, self.intercept + self.intercept_half

    @property
    def slope_interval(self) -> tuple[float, float]:
        return self.slope - self.slope_half, self.slope + self.slope_half

    def intercept_excludes(self, value: float) -> bool:
        """The intercept differs from value beyond its interval (each side one-sided at alpha)."""
        lo, hi = self.intercept_interval
        return value < lo or value > hi


def line_fit(xs: list[float], ys: list[float], alpha: float) -> LineFit:
    """Ordinary least squares of ys on xs (at least three points, not all xs equal)."""
    n = len(xs)
    if n < 3:
        raise ValueError("a line with an interval needs at least three points")
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((a - mx) ** 2 for a in xs)
    slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sxx
    intercept = my - slope * mx
    ssr = sum((b - intercept - slope * a) ** 2 for a, b in zip(xs, ys))
    sd = math.sqrt(ssr / (n - 2))
    t = _t_quantile(n - 2, alpha) if sd > 0 else 0.0
    return LineFit(intercept, slope, t * sd * math.sqrt(1 / n + mx * mx / sxx), t * sd / math.sqrt(sxx), sd, n - 2)
