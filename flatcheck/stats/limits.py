"""Deciding a limit lim_{ρ→0} q(ρ) = S from q on a geometric sequence of ρ.

A limit is an o(1) statement, so no finite sequence proves it; the decision rule is stated here
once and cited by the claims that use it. With e(ρ) = q(ρ) − S:
- e vanishes to working precision (|e| ≤ floor) at every ρ, or at the two smallest: the limit holds;
- otherwise the least-squares slope p of log|e| against log ρ (over the ρ with |e| > floor) is the
  rate at which e shrinks: p ≥ ½ — e decreases at least like ρ^{1/2} — holds; p ≤ ¼ with |e| at the
  smallest ρ above the floor — e is not shrinking: it tends to a non-zero constant — fails; in
  between the sequence cannot tell and the check is undecided (use smaller ρ).
For the smooth (polynomial) families of the catalog a correct S leaves e = O(ρ) or O(ρ²) (p ≈ 1 or 2),
and a wrong S leaves e → S_true − S ≠ 0 (p ≈ 0), far from the ½ boundary on both sides. The
slope over the whole sequence, rather than the last local order, keeps the rule robust to the
small irregularities an inner optimisation (a max or an inf) leaves in q.
The Richardson-extrapolated limit (q assumed analytic in ρ) is reported alongside, for reading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flatcheck.stats.remainder_order import local_orders


@dataclass
class LimitFit:
    rhos: list[float]
    values: list[float]
    target: float
    residuals: list[float]
    slope: float | None
    local_orders: list[float]
    extrapolated: float
    decided: bool
    holds: bool | None
    note: str

    @property
    def verdict(self) -> bool | None:
        return self.holds if self.decided else None

    @property
    def margin(self) -> float:
        """Slack of the slope over the ½ boundary (± inf when the residual vanishes or q is not finite)."""
        if self.slope is not None:
            return self.slope - 0.5
        return math.inf if self.holds else -math.inf

    def summary(self) -> dict[str, object]:
        return {
            "rhos": self.rhos,
            "ratio_R_over_rho2": self.values,
            "predicted_limit": self.target,
            "residuals": self.residuals,
            "residual_slope": self.slope,
            "extrapolated_limit": self.extrapolated,
        }

    def plot(self) -> dict[str, object]:
        return {
            "type": "loglog",
            "x": self.rhos,
            "y": [abs(e) for e in self.residuals],
            "xlabel": "rho",
            "ylabel": "|R_rho/rho^2 - S|",
            "fitted_order": self.slope,
        }


def richardson(rhos: list[float], values: list[float]) -> float:
    """Limit of q(ρ) = S + c₁ρ + c₂ρ² + … from its last three values on ρ, ρ/2, ρ/4 (ratio 2)."""
    if len(values) < 3:
        return values[-1]
    a, b, c = values[-3:]
    first = (2 * b - a, 2 * c - b)
    return (4 * first[1] - first[0]) / 3


def fit_limit(rhos: list[float], values: list[float], target: float, floor: float) -> LimitFit:
    """Decide lim q(ρ) = target (module docstring). rhos decreasing by a constant ratio."""
    res = [v - target for v in values]
    live = [(r, abs(e)) for r, e in zip(rhos, res) if abs(e) > floor]
    orders = local_orders([r for r, _ in live], [e for _, e in live]) if len(live) >= 2 else []
    extrapolated = richardson(rhos, values)

    def fit(decided: bool, holds: bool | None, slope: float | None, note: str) -> LimitFit:
        return LimitFit(rhos, values, target, res, slope, orders, extrapolated, decided, holds, note)

    if not all(math.isfinite(v) for v in values):
        return fit(True, False, None, "q(ρ) is not finite at some ρ")
    if not live or all(abs(e) <= floor for e in res[-2:]):
        return fit(True, True, None, "q(ρ) − S vanishes to working precision (at least at the two smallest ρ)")
    if len(live) < 3:
        return fit(False, None, None, "too few ρ above the precision floor")
    xs = [math.log(r) for r, _ in live]
    ys = [math.log(e) for _, e in live]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)
    tail_above = abs(res[-1]) > floor
    if slope >= 0.5:
        return fit(True, True, slope, f"q(ρ) − S shrinks like ρ^{slope:.2f}")
    if slope <= 0.25 and tail_above:
        return fit(
            True, False, slope, f"q(ρ) − S does not shrink (slope {slope:.2f}): the limit is ≈ {extrapolated:.6g}"
        )
    return fit(False, None, slope, f"slope {slope:.2f} of log|q − S| is between ¼ and ½: use smaller ρ")


def joint_verdict(verdicts: list[bool | None]) -> bool | None:
    """Several sub-checks of one claim: False if any failed, None if any is undecided, else True."""
    if any(v is False for v in verdicts):
        return False
    return None if any(v is None for v in verdicts) else True
