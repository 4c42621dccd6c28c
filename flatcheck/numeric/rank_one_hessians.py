r"""The rank-one structure of per-example Hessians on Γ (the setting of wen2023 §4), exactly and numerically.

For L_k(x) = ℓ(f_k(x), y_k) at p ∈ Γ (f_k(p) = y_k, ∂ℓ/∂y′ = 0 there):
    ∇²L_k(p) = ℓ″(f_k(p), y_k) ∇f_k(p)∇f_k(p)ᵀ = ℓ″‖∇f_k(p)‖² w_k(p)w_k(p)ᵀ,   w_k = ∇f_k/‖∇f_k‖,
and ∇L_k(x) = ℓ′(f_k(x), y_k)∇f_k(x) points along ±∇f_k(x). The helpers take the instances of
`flatcheck.problems.manifolds.setting_one`, whose `known` carries the models f_k, the labels y_k and ℓ.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
import torch

from flatcheck.problems.local import LocalPolynomial, expand_at
from flatcheck.problems.manifolds import ManifoldInstance


@dataclass
class RankOneParts:
    """For one example k at p: ∇²L_k(p), ℓ″(f_k(p), y_k) and ∇f_k(p), exactly."""

    hessian: sp.Matrix
    curvature: sp.Rational
    model_gradient: sp.Matrix

    @property
    def direction(self) -> torch.Tensor:
        """w_k(p) = ∇f_k(p)/‖∇f_k(p)‖."""
        g = torch.tensor([float(v) for v in self.model_gradient], dtype=torch.float64)
        return g / torch.linalg.vector_norm(g)

    def mismatch(self, weight: sp.Expr) -> sp.Matrix:
        """∇²L_k(p) − weight·w_kw_kᵀ, exactly (w_kw_kᵀ = ∇f∇fᵀ/‖∇f‖² is rational)."""
        g = self.model_gradient
        return (self.hessian - weight * g * g.T / (g.T * g)[0]).applyfunc(sp.simplify)


def rank_one_parts(inst: ManifoldInstance) -> list[RankOneParts]:
    prob = inst.problem
    at = dict(zip(prob.symbols, inst.point))
    e = prob.known["loss_variable"]
    curv = sp.diff(prob.known["loss"], e, 2)
    out = []
    for k, (model, label) in enumerate(zip(prob.known["models"], prob.known["labels"])):
        grad = sp.Matrix([sp.diff(model, s).subs(at) for s in prob.symbols])
        hess = expand_at(prob.examples[k], prob.symbols, inst.point).hessian
        out.append(RankOneParts(hess, curv.subs(e, model.subs(at) - label), grad))
    return out


def direction_residuals(lp: LocalPolynomial, w: torch.Tensor, delta: torch.Tensor, ts: list[float]) -> list[float]:
    """min_{s=±1} ‖∇L_k(x)/‖∇L_k(x)‖ − s·w‖ at x = p + tδ for each t (NaN where ∇L_k(x) = 0), from the exact
    expansion `lp` of L_k at p."""
    z = torch.tensor(ts, dtype=torch.float64)[:, None] * delta
    g = lp.grad(z)
    n = torch.linalg.vector_norm(g, dim=-1, keepdim=True)
    u = g / n
    res = torch.minimum(torch.linalg.vector_norm(u - w, dim=-1), torch.linalg.vector_norm(u + w, dim=-1))
    floor = lp.gradient_roundoff(torch.linalg.vector_norm(z, dim=-1))
    return torch.where(n.squeeze(-1) > floor, res, torch.nan).tolist()
