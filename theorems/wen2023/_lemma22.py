"""wen2023 Lemma 22 and the check its printed and corrected readings share; they differ only in
Λ_k(p), the weight of w_kw_kᵀ (`stated_weight`: ℓ″ as the paper defines it; `top_eigenvalue_weight`:
ℓ″‖∇f_k‖²)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.numeric.rank_one_hessians import RankOneParts, direction_residuals, rank_one_parts
from flatcheck.problems.local import expand_at
from flatcheck.problems.manifolds import (
    ManifoldInstance,
    describe_with_direction,
    rank_condition,
    setting_one_directions,
)
from flatcheck.stats import fit_order
from flatcheck.stats.limits import joint_verdict
from flatcheck.verify import Assumption, Constant, Evidence, constant

CONSTANTS = (
    Constant("c_lambda", 1.0, "1 in ∇²L_k(p) = 1·Λ_kw_kw_kᵀ", "exact", text="the rank-one Hessian's weight"),
    Constant("order", 1.0, "1 in O(‖x − p‖)", "larger", "order", 1.0, "the direction residual's order"),
)


def stated_weight(part: RankOneParts) -> sp.Expr:
    """Λ_k(p) as wen2023 defines it before Lemma 22: the loss curvature d²ℓ/dy′² at y′ = f_k(p)."""
    return part.curvature


@lru_cache(maxsize=1)
def derive_weight() -> dict[str, sp.Expr]:
    """∇²L_k(p) for L_k = ℓ(f_k(x), y) at p with f_k(p) = y (so ℓ′ = 0), f_k a generic quadratic in two
    variables and ℓ a generic cubic with ℓ(y) = ℓ′(y) = 0: the residual ∇²L_k(p) − Λwwᵀ with
    w = ∇f_k(p)/‖∇f_k(p)‖, Λ = wᵀ∇²L_k(p)w (0: rank one), and the power e with Λ = ℓ″(y)‖∇f_k(p)‖^e (2)."""
    x = sp.symbols("x1:3", real=True)
    y, a2, a3 = sp.symbols("y a2 a3", real=True)
    b = sp.Matrix(sp.symbols("b1:3", real=True))
    c = sp.symbols("c11 c12 c22", real=True)
    f = y + b[0] * x[0] + b[1] * x[1] + c[0] * x[0] ** 2 + c[1] * x[0] * x[1] + c[2] * x[1] ** 2
    z = sp.Symbol("z", real=True)
    ell = a2 * (z - y) ** 2 + a3 * (z - y) ** 3
    hessian = sp.hessian(ell.subs(z, f), x).subs({x[0]: 0, x[1]: 0})
    norm2 = (b.T * b)[0]
    w = b / sp.sqrt(norm2)
    weight = sp.simplify((w.T * hessian * w)[0])
    curvature = sp.diff(ell, z, 2).subs(z, y)
    (power,) = [e for e in range(5) if sp.simplify(weight - curvature * norm2 ** sp.Rational(e, 2)) == 0]
    return {"residual": sp.simplify(hessian - weight * w * w.T), "weight": weight, "power_of_grad_norm": power}


def top_eigenvalue_weight(part: RankOneParts) -> sp.Expr:
    """The non-zero eigenvalue of ∇²L_k(p), ℓ″‖∇f_k(p)‖^e, e from `derive_weight` (2)."""
    e = derive_weight()["power_of_grad_norm"]
    return part.curvature * (part.model_gradient.T * part.model_gradient)[0] ** sp.Rational(e, 2)


@dataclass
class RankOneAssessment:
    verdict: bool | None
    values: dict
    note: str


def assess_lemma22(
    inst: ManifoldInstance, delta: list[float], weight=stated_weight, order: float = 1.0
) -> RankOneAssessment:
    """Both parts of Lemma 22 at p: (a) ∇²L_k(p) = weight·w_kw_kᵀ exactly for every k; (b) the direction
    residual at x = p + tδ, t = 2^{-2} … 2^{-16}, has local order ≥ `order` (`flatcheck.stats.fit_order`)."""
    parts = rank_one_parts(inst)
    mismatches = [p.mismatch(weight(p)) for p in parts]
    identity_ok = all(m == sp.zeros(*m.shape) for m in mismatches)
    ts = [2.0**-k for k in range(2, 17)]
    values: dict = {
        "t": ts,
        "hessian_minus_lambda_wwT": [str(m.tolist()) for m in mismatches],
        "lambda": [str(weight(p)) for p in parts],
        "grad_f_norm_squared": [str((p.model_gradient.T * p.model_gradient)[0]) for p in parts],
    }
    if not identity_ok:
        # Part (a) already falsifies the lemma on this instance; part (b) cannot change that.
        return RankOneAssessment(False, values, "∇²L_k(p) ≠ Λ_k(p)w_k(p)w_k(p)ᵀ (off by the factor ‖∇f_k(p)‖²)")
    verdicts: list[bool | None] = []
    notes: list[str] = []
    for k in range(len(parts)):
        lp = expand_at(inst.problem.examples[k], inst.problem.symbols, inst.point)
        res = direction_residuals(lp, parts[k].direction, torch.tensor(delta, dtype=torch.float64), ts)
        keep = [(t, r) for t, r in zip(ts, res) if r == r]
        fit = fit_order([t for t, _ in keep], [r for _, r in keep], order, floor=1e-12)
        verdicts.append(fit.reaches if fit.decided else None)
        values[f"direction_residual_{k}"] = res
        values[f"local_order_{k}"] = fit.local_orders[-1] if fit.local_orders else None
        if not (fit.decided and fit.reaches):
            notes.append(f"example {k}: {fit.note}")
    return RankOneAssessment(joint_verdict(verdicts), values, "; ".join(notes))


def make_lemma22_check(weight, order: float = 1.0):
    """Lemma 22 with Λ_k = weight(part) and the direction residual of order ≥ `order` (the budget's
    constants, `CONSTANTS`, scale the weight and replace the order)."""

    def check(case: tuple[ManifoldInstance, list[float]], impl: object, budget) -> Evidence:
        c = sp.nsimplify(constant(budget, CONSTANTS, "c_lambda"))
        o = constant(budget, {"order": order}, "order")
        out = assess_lemma22(case[0], case[1], lambda part: c * weight(part), o)
        return Evidence(out.verdict, out.values, note=out.note)

    return check


ASSUMPTIONS = (Assumption("assumption1", lambda c: rank_condition(c[0]), "p ∈ Γ, rank ∇²L(p) = M"),)


def instances(budget: object) -> st.SearchStrategy[tuple[ManifoldInstance, list[float]]]:
    return setting_one_directions()


describe = describe_with_direction
