"""Losses whose minimizers form a known curved manifold Γ (wen2023 Assumption 1).

    L(u, y) = ½ Σ_{k=1}^{M} w_k(u) g_k(u, y)²,   g_k = y_k − h_k(u),   w_k(u) > 0,

with u ∈ R^p, y ∈ R^M, D = p + M. Γ = {g = 0} = {y = h(u)} is the graph of h: a (D − M)-dimensional
manifold whose points are exact for rational u. L ≥ 0 with L = 0 exactly on Γ, and on Γ
∇²L = Jᵀ diag(w) J with J = ∂g/∂x = [−∂h/∂u, I_M] of full rank M, so rank ∇²L = M (Assumption 1).
The tangent space T_xΓ is the kernel of J; the position-dependent weights make the spectrum of
∇²L vary along Γ, so λ₁ and Tr ∇²L have non-trivial Riemannian gradients there.

Setting of wen2023 §4 (stochastic SAM): the per-example losses are L_k = M·½ w_k g_k² =
ℓ(f_k(x), 0) with f_k = (M w_k)^{1/2} g_k and ℓ(y′, y) = ½(y′ − y)², so L = (1/M) Σ L_k and each
∇²L_k on Γ is rank one.
"""

from __future__ import annotations

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.problems.points import rationals
from flatcheck.problems.problem import Problem


def manifold_loss(
    h_lin: list[list[sp.Rational]],
    h_sq: list[list[sp.Rational]],
    w_const: list[sp.Rational],
    w_sq: list[list[sp.Rational]],
    w_center: list[list[sp.Rational]],
) -> Problem:
    """h_k(u) = Σ_j h_lin[k][j] u_j + h_sq[k][j] u_j²; w_k(u) = w_const[k] + Σ_j w_sq[k][j](u_j − w_center[k][j])².

    w_const > 0 and w_sq ≥ 0 keep every weight positive, so Γ is exactly the zero set of L."""
    m, p = len(w_const), len(h_lin[0])
    if any(c <= 0 for c in w_const) or any(e < 0 for row in w_sq for e in row):
        raise ValueError("manifold_loss needs w_const > 0 and w_sq ≥ 0 (positive weights)")
    us = sp.symbols(f"u1:{p + 1}", real=True)
    ys = sp.symbols(f"y1:{m + 1}", real=True)
    h = [sum(a * u + b * u**2 for a, b, u in zip(h_lin[k], h_sq[k], us)) for k in range(m)]
    w = [w_const[k] + sum(e * (u - c) ** 2 for e, c, u in zip(w_sq[k], w_center[k], us)) for k in range(m)]
    g = [ys[k] - h[k] for k in range(m)]
    examples = tuple(sp.Rational(m, 2) * w[k] * g[k] ** 2 for k in range(m))
    symbols = tuple(us) + tuple(ys)
    jac = sp.Matrix([[sp.diff(gk, s) for s in symbols] for gk in g])
    return Problem(
        family="manifold_loss",
        symbols=symbols,
        expr=sum(w[k] * g[k] ** 2 for k in range(m)) / 2,
        params={
            "p": p,
            "M": m,
            "h_lin": [[str(v) for v in r] for r in h_lin],
            "h_sq": [[str(v) for v in r] for r in h_sq],
            "w_const": [str(v) for v in w_const],
            "w_sq": [[str(v) for v in r] for r in w_sq],
            "w_center": [[str(v) for v in r] for r in w_center],
        },
        known={"M": m, "p": p, "h": h, "weights": w, "constraints": g, "constraint_jacobian": jac},
        examples=examples,
    )


def manifold_point(prob: Problem, u: list[sp.Rational]) -> list[sp.Rational]:
    """The exact point (u, h(u)) of Γ."""
    us = prob.symbols[: prob.known["p"]]
    return list(u) + [sp.nsimplify(hk.subs(dict(zip(us, u)))) for hk in prob.known["h"]]


def tangent_projection_exact(prob: Problem, x: list[sp.Rational]) -> sp.Matrix:
    """P^⊤_{x,Γ} = I − Jᵀ(JJᵀ)⁻¹J at a point of Γ, exactly (T_xΓ = ker J)."""
    jac = prob.known["constraint_jacobian"].subs(dict(zip(prob.symbols, x)), simultaneous=True)
    return sp.eye(prob.d) - jac.T * (jac * jac.T).inv() * jac


def tangent_projection_exact_tensor(prob: Problem, x: list[sp.Rational]) -> torch.Tensor:
    m = tangent_projection_exact(prob, x)
    return torch.tensor([[float(v) for v in row] for row in m.tolist()], dtype=torch.float64)


@st.composite
def manifold_losses(draw, p: st.SearchStrategy[int] = st.integers(1, 2), m: st.SearchStrategy[int] = st.integers(2, 3)):
    """Hypothesis strategy for `manifold_loss`: curved graphs (|∂h| ≤ 2 on |u| ≤ 1) with weights in
    [1, ~4] that vary along Γ; the spectrum of ∇²L stays within a factor ~40, so gradient flows (Φ)
    converge in a few hundred steps. Small rationals, so instances shrink to readable ones."""
    pp, mm = draw(p), draw(m)

    def mat(s: st.SearchStrategy) -> list[list[sp.Rational]]:
        return [[draw(s) for _ in range(pp)] for _ in range(mm)]

    return manifold_loss(
        h_lin=mat(rationals(-2, 2, (2,))),
        h_sq=mat(rationals(-2, 2, (4,))),
        w_const=[draw(rationals(2, 6, (2,))) for _ in range(mm)],
        w_sq=mat(rationals(0, 2, (2,))),
        w_center=mat(rationals(-2, 2, (2,))),
    )


@st.composite
def manifold_points(draw, offset: bool = False, p: st.SearchStrategy[int] = st.integers(1, 2)) -> dict:
    """A manifold loss with an exact point of Γ (offset=False) or a point near Γ, off it by a small
    rational vector (offset=True; entries in [−1/4, 1/4], the neighbourhood U where Φ maps to Γ)."""
    prob = draw(manifold_losses(p=p))
    u = [draw(rationals(-4, 4, (4,))) for _ in range(prob.known["p"])]  # |u| ≤ 1
    x = manifold_point(prob, u)
    if offset:
        x = [a + draw(rationals(-2, 2, (8,))) for a in x]  # |offset| ≤ 1/4
    return {"problem": prob, "u": u, "x": x}


def describe_point(inst: dict) -> dict:
    return {"problem": inst["problem"].describe(), "x": [str(v) for v in inst["x"]]}
