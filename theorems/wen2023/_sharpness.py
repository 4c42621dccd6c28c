"""What Theorems 12–14 of wen2023 (Table 1) share: the claim's frame on the manifold families at an
exact point of Γ, and the limit rule's decision on R_ρ/ρ²."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flatcheck.numeric.sharpness import ratio_floor
from flatcheck.problems.local import LocalPolynomial
from flatcheck.problems.manifolds import ManifoldInstance, manifold_instances, rank_condition
from flatcheck.stats.limits import fit_limit
from flatcheck.verify import Assumption, Claim, Constant, Evidence


def limit_evidence(rhos: list[float], ratio: list[float], target: float, lp: LocalPolynomial, **extra: Any) -> Evidence:
    """lim R_ρ/ρ² = target by the rule of `flatcheck.stats.limits`, at the resolution of an inner
    max/inf on lp; `extra` joins the evidence's values."""
    fit = fit_limit(rhos, ratio, target, ratio_floor([lp], rhos[-1], target))
    return Evidence(fit.verdict, {**fit.summary(), **extra}, margin=fit.margin, note=fit.note, plot=fit.plot())


def sharpness_claim(
    *,
    id: str,
    ref: str,
    statement: str,
    summary: str,
    check: Callable[..., Evidence],
    constants: tuple[Constant, ...],
) -> Claim:
    """A row of Table 1: the stated limiting regularizer S on Γ, under Assumption 1."""
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
    )
