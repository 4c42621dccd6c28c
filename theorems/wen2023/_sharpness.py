"""What Theorems 12–14 of wen2023 (Table 1) share: the claim's frame on the manifold families at an
exact point of Γ, and the limit rule's decision on R_ρ/ρ².

The limit rule (`flatcheck.stats.limits`) says "q(ρ) − S does not shrink" from the slope of
log|q − S| alone, and its precision floor trusts an inner max/inf to `SOLVER_RTOL`. The inner inf
of R^asc (Theorem 13: projected descent from a few starts) misses the infimum by up to ~5e-3 of S,
unevenly along the ladder: on 3 of 50 quick seeds its scatter, not a wrong limit, made log|q − S|
flat. So a "does not shrink" falsifies only when the limit itself is told apart from S: the
intercept δ of q(ρ) − S = δ + cρ (least squares over the ladder, `flatcheck.stats.exponents.line_fit`)
has a two-sided (1 − α) interval, from the points' own scatter about the line, that excludes 0 —
the solver's error and any curvature the line cannot follow count as noise, at the instance's
error rate α. A wrong S leaves δ = S_true − S on a nearly straight line and is falsified; an
interval that contains 0 is undecided (a finer inner solve or smaller ρ would tell). Student's t
at α ≈ 1e-6 is wide on few points (t ≈ 55 on 4 degrees of freedom, 11 on 9), so a claim whose
values scatter (an inner solve) fits the line on a ratio-√2 ladder (`stride` 2), while the slope
rule and its Richardson extrapolation read the ratio-2 points of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flatcheck.numeric.sharpness import ratio_floor
from flatcheck.problems.local import LocalPolynomial
from flatcheck.problems.manifolds import ManifoldInstance, manifold_instances, rank_condition
from flatcheck.stats.exponents import line_fit
from flatcheck.stats.limits import fit_limit
from flatcheck.verify import Assumption, Claim, Constant, Evidence


def limit_evidence(
    rhos: list[float],
    ratio: list[float],
    target: float,
    lp: LocalPolynomial,
    alpha: float,
    stride: int = 1,
    **extra: Any,
) -> Evidence:
    """lim R_ρ/ρ² = target by the rule of `flatcheck.stats.limits` on every stride-th ρ (a ratio-2
    ladder, which its Richardson extrapolation assumes), at the resolution of an inner max/inf on
    lp; a shortfall is confirmed by the offset's interval over all the ρ at error rate alpha
    (module docstring); `extra` joins the evidence's values."""
    fit = fit_limit(rhos[::stride], ratio[::stride], target, ratio_floor([lp], rhos[-1], target))
    values = {**fit.summary(), **extra}
    verdict, note = fit.verdict, fit.note
    if verdict is False and fit.slope is not None:
        line = line_fit(rhos, [q - target for q in ratio], alpha / 2)
        lo, hi = line.intercept_interval
        values["limit_offset_interval"] = [lo, hi]
        if stride > 1:
            values["offset_fit"] = {"rhos": rhos, "ratio_R_over_rho2": ratio}
        if not line.intercept_excludes(0.0):
            verdict = None
            note = f"{note}, but lim q(ρ) − S ∈ [{lo:.3g}, {hi:.3g}] (α = {alpha:.2g}) contains 0: undecided"
    return Evidence(verdict, values, margin=fit.margin, note=note, plot=fit.plot())


def sharpness_claim(
    *,
    id: str,
    ref: str,
    statement: str,
    summary: str,
    check: Callable[..., Evidence],
    constants: tuple[Constant, ...],
    derive: Callable[[], Any] | None = None,
) -> Claim:
    """A row of Table 1: the stated limiting regularizer S on Γ, under Assumption 1 (`derive`: the
    claim's symbolic part, where it has one)."""
    return Claim(
        id=id,
        paper="wen2023",
        ref=ref,
        kind="expansion",
        statement=statement,
        summary=summary,
        faithful="exact",
        instances=lambda budget: manifold_instances(),
        check=check,
        assumptions=(Assumption("assumption1", rank_condition, "x ∈ Γ: L = 0, ∇L = 0, rank ∇²L(x) = M"),),
        describe=ManifoldInstance.describe,
        constants=constants,
        derive=derive,
    )
