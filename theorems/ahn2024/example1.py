r"""ahn2024.example1 — Example 1, §2.2 (Ahn, Jadbabaie, Sra 2024).

    "Consider a two-dimensional function f : (x₁, x₂) ↦ (x₁x₂ − 1)². Then it holds that
     ∇f(x) = 2(x₁x₂ − 1)[x₂, x₁]ᵀ and ∇²f(x) = [[2x₂², 4x₁x₂ − 2], [4x₁x₂ − 2, 2x₁²]].
     Hence, the set of minima is X* = {(x₁, x₂) : x₁x₂ = 1} and tr̄(x) = (2x₁² + 2x₂²)/2 = x₁² + x₂².
     The unique minimum of tr̄ is (0, 0) which does not intersect with X*. When restricted to X*,
     tr̄ achieve its minimum at (1, 1) and (−1, −1), so those two points are flat minima."

Symbolic side: every stated formula minus sympy's own derivative simplifies to 0; the minimizers
of tr̄ on X* come from solving d/dt tr̄(t, 1/t) = 0. Numeric side: at sampled points the stated
formulas agree with torch autograd and with HIPS autograd to round-off.
"""

from __future__ import annotations

from functools import lru_cache

import autograd
import numpy as np
import sympy as sp
import torch

from flatcheck.numeric import autograd_grad
from flatcheck.problems import example1, points
from flatcheck.verify import Budget, Claim, Constant, Evidence, constant

x1, x2, t = sp.symbols("x1 x2 t", real=True)
CONSTANTS = (
    Constant("c_grad", 2, "2 in ∇f = 2(x₁x₂ − 1)[x₂, x₁]ᵀ", "exact"),
    Constant("c_diag", 2, "2 in 2x₂², 2x₁²", "exact", text="the Hessian's diagonal"),
    Constant("c_off", 4, "4 in 4x₁x₂ − 2", "exact", text="the Hessian's off-diagonal"),
    Constant("c_shift", 2, "2 in 4x₁x₂ − 2", "exact", text="the Hessian's off-diagonal"),
    Constant("c_trace", 1, "1 in tr̄ = 1·(x₁² + x₂²)", "exact"),
)


def stated(c: tuple[float, ...]) -> dict[str, sp.Expr]:
    """The printed formulas with the constants c (in the order of CONSTANTS)."""
    g, dg, off, shift, tr = (sp.nsimplify(v) for v in c)
    return {
        "grad": sp.Matrix([g * (x1 * x2 - 1) * x2, g * (x1 * x2 - 1) * x1]),
        "hess": sp.Matrix([[dg * x2**2, off * x1 * x2 - shift], [off * x1 * x2 - shift, dg * x1**2]]),
        "trace_bar": tr * (x1**2 + x2**2),
    }


PRINTED = tuple(k.value for k in CONSTANTS)


def derive() -> dict[str, object]:
    return derive_with(PRINTED)


@lru_cache(maxsize=4)
def derive_with(c: tuple[float, ...]) -> dict[str, object]:
    """sympy's derivatives of f against the formulas printed with constants c."""
    printed = stated(c)
    f = example1().expr
    grad = sp.Matrix([sp.diff(f, v) for v in (x1, x2)])
    hess = sp.hessian(f, (x1, x2))
    tr_bar = hess.trace() / 2
    on_manifold = tr_bar.subs({x1: t, x2: 1 / t}, simultaneous=True)
    crit = sp.solve(sp.diff(on_manifold, t), t)
    flat = sorted((c, 1 / c) for c in crit if c.is_real and sp.diff(on_manifold, t, 2).subs(t, c) > 0)
    tr_crit = sp.solve([sp.diff(tr_bar, x1), sp.diff(tr_bar, x2)], [x1, x2], dict=True)
    return {
        "grad_residual": sp.simplify(grad - printed["grad"]),
        "hess_residual": sp.simplify(hess - printed["hess"]),
        "trace_bar_residual": sp.simplify(tr_bar - printed["trace_bar"]),
        # f ≥ 0 as a square, and f = 0 ⇔ x₁x₂ = 1: X* is the zero set of x₁x₂ − 1.
        "f_minus_square": sp.expand(f - (x1 * x2 - 1) ** 2),
        "argmin_trace_bar": tr_crit,
        "argmin_on_X*": flat,
    }


def _symbolic_ok(r: dict[str, object]) -> list[str]:
    bad = []
    for k in ("grad_residual", "hess_residual"):
        if r[k] != sp.zeros(*r[k].shape):
            bad.append(k)
    if r["trace_bar_residual"] != 0 or r["f_minus_square"] != 0:
        bad.append("trace_bar/X*")
    # The unique minimum of tr̄ is (0, 0), and (0, 0) ∉ X* since 0·0 ≠ 1.
    if r["argmin_trace_bar"] != [{x1: 0, x2: 0}]:
        bad.append("argmin tr̄ ≠ {(0,0)}")
    if r["argmin_on_X*"] != [(-1, -1), (1, 1)]:
        bad.append(f"minimizers of tr̄ on X* are {r['argmin_on_X*']}, not (1,1), (−1,−1)")
    return bad


def check(pt: list[sp.Rational], impl: object, budget: Budget) -> Evidence:
    c = tuple(constant(budget, CONSTANTS, k.name) for k in CONSTANTS)
    bad = _symbolic_ok(derive_with(c))
    if bad:
        return Evidence(False, {"symbolic_mismatch": bad}, note="stated formula differs: " + ", ".join(bad))
    prob = example1()
    x = torch.tensor([float(v) for v in pt], dtype=torch.float64)
    subs = {x1: pt[0], x2: pt[1]}
    printed = stated(c)
    stated_grad = torch.tensor([float(e.subs(subs)) for e in printed["grad"]], dtype=torch.float64)
    stated_hess = torch.tensor(
        [[float(e.subs(subs)) for e in row] for row in printed["hess"].tolist()], dtype=torch.float64
    )
    g_torch = autograd_grad(prob.f, x[None])[0]
    g_hips = torch.from_numpy(np.asarray(autograd.grad(prob.f_autograd)(x.numpy())))
    h_hips = torch.from_numpy(np.asarray(autograd.hessian(prob.f_autograd)(x.numpy())))
    scale = 1.0 + float(torch.max(torch.abs(stated_hess))) * (1 + float(x.abs().max())) ** 2
    tol = 64 * torch.finfo(torch.float64).eps * scale
    err = max(
        float((g_torch - stated_grad).abs().max()),
        float((g_hips - stated_grad).abs().max()),
        float((h_hips - stated_hess).abs().max()),
    )
    # tr̄ from the Hessian (torch) against the stated x₁² + x₂².
    tr = float(torch.trace(prob.hess(x)) / 2)
    err = max(err, abs(tr - float(printed["trace_bar"].subs(subs))))
    return Evidence(err <= tol, {"max_abs_error": err, "tolerance": tol}, margin=(tol - err) / tol)


CLAIM = Claim(
    id="ahn2024.example1",
    paper="ahn2024",
    ref="Example 1, §2.2",
    kind="identity",
    statement=r"f=(x_1x_2-1)^2:\ \nabla f=2(x_1x_2-1)\binom{x_2}{x_1},\ "
    r"\nabla^2 f=\begin{bmatrix}2x_2^2&4x_1x_2-2\\4x_1x_2-2&2x_1^2\end{bmatrix},\ "
    r"\mathcal X^*=\{x_1x_2=1\},\ \bar{\mathrm{tr}}=x_1^2+x_2^2,\ \arg\min\bar{\mathrm{tr}}=(0,0)\notin\mathcal X^*,\ "
    r"\arg\min_{\mathcal X^*}\bar{\mathrm{tr}}=\{(1,1),(-1,-1)\}",
    summary="Example 1's gradient, Hessian, X*, tr̄ and flat minima (±(1,1)) are as stated.",
    faithful="exact",
    instances=lambda budget: points(2),
    check=check,
    derive=derive,
    describe=lambda pt: {"x": [str(v) for v in pt]},
    constants=CONSTANTS,
)
