r"""wen2023.lemma57 — derivative of the top eigenvalue, Lemma 57, App. D.7 (Wen, Ma, Li 2023; after [19]).

    "Lemma 57 ([19]) Let A : R^D → R^{D×D} be any C¹ symmetric matrix function and x* ∈ R^D
     satisfying λ₁(A(x*)) > λ₂(A(x*)) and v₁ be the top eigenvector of A(x*). It holds that
     ∇λ₁(A(x))|_{x=x*} = ∇(v₁ᵀA(x)v₁)|_{x=x*}."

Symbolic side (derive): for a generic 2×2 symmetric A(t) = [[a, b], [b, c]] the closed form
λ₁ = (a+c)/2 + √(((a−c)/2)² + b²) and v₁ ∝ (b, λ₁ − a) give dλ₁/dt − v₁ᵀA′v₁ ≡ 0 (sympy, exact
algebra modulo the square root's defining polynomial); the check requires this zero.
Numeric side: A(x) is a random symmetric matrix of polynomials (and the Hessian ∇²L of a
manifold loss, the use made of the lemma in (12)); at a rational x* the left side is a central
difference of λ₁ in 50-digit mpmath (eigsy) and the right side v₁ᵀ∂_iA(x*)v₁ uses sympy's exact
∂_iA. The difference must lie within the finite-difference error, estimated by Richardson
(|D(h) − D(h/2)|), plus the working precision. Assumption 7's eigengap λ₁ > λ₂ is checked at
x* in 50 digits; the difference step is scaled to the gap.
"""

from __future__ import annotations

from functools import lru_cache

import mpmath
import sympy as sp
from hypothesis import strategies as st

from flatcheck.problems import manifold_losses, points, rationals
from flatcheck.verify import Assumption, Claim, Constant, Evidence, constant

DPS = 50
CONSTANTS = (Constant("c_rhs", 1.0, "1 in 1·∇(v₁ᵀA(x)v₁)", "exact", text="the identity's coefficient"),)


def derive() -> sp.Poly:
    """dλ₁/dt − v₁ᵀA′v₁/‖v₁‖² for A(t) = [[a, b], [b, c]], with S = √(((a−c)/2)² + b²) kept as a symbol:
    the numerator reduced modulo S² − ((a−c)/2)² − b² is the zero polynomial."""
    a, b, c, da, db, dc = sp.symbols("a b c da db dc", real=True)
    root = sp.Symbol("S", positive=True)
    lam = (a + c) / 2 + root
    dlam = (da + dc) / 2 + ((a - c) * (da - dc) / 4 + b * db) / root
    v = sp.Matrix([b, lam - a])
    resid = sp.together(dlam - (v.T * sp.Matrix([[da, db], [db, dc]]) * v)[0] / (v.T * v)[0])
    return sp.rem(sp.Poly(sp.expand(sp.numer(resid)), root), sp.Poly(root**2 - ((a - c) / 2) ** 2 - b**2, root))


@lru_cache(maxsize=1)
def _derive_cached() -> sp.Poly:
    return derive()


@st.composite
def matrix_functions(draw) -> dict:
    """A symmetric n×n matrix of polynomials of degree ≤ 2 in D variables, with a rational x*."""
    d, n = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    xs = sp.symbols(f"x1:{d + 1}", real=True)
    coef = rationals(-4, 4, (1, 2, 4))
    monos = [sp.Integer(1), *xs, *(a * b for i, a in enumerate(xs) for b in xs[i:])]
    entries = {}
    for i in range(n):
        for j in range(i, n):
            entries[i, j] = entries[j, i] = sum(draw(coef) * mo for mo in monos)
    mat = sp.ImmutableMatrix(n, n, lambda i, j: entries[i, j])
    return {"symbols": xs, "A": mat, "x": draw(points(d, -4, 4))}


@st.composite
def manifold_hessians(draw) -> dict:
    prob = draw(manifold_losses(p=st.just(1), m=st.just(2)))
    return {
        "symbols": prob.symbols,
        "A": sp.ImmutableMatrix(prob.hess_expr),
        "x": draw(points(prob.d, -2, 2)),
        "family": prob.params,
    }


@lru_cache(maxsize=64)
def _compiled(mat: sp.Matrix, xs: tuple) -> object:
    return sp.lambdify(list(xs), mat, modules="mpmath")


def _eig(mat: sp.Matrix, xs, x: list[mpmath.mpf]) -> tuple[mpmath.matrix, mpmath.matrix]:
    """Eigenvalues (descending) and eigenvectors (columns) of A(x) in the current mpmath precision."""
    vals, vecs = mpmath.eigsy(mpmath.matrix(_compiled(mat, tuple(xs))(*x)))
    order = sorted(range(len(vals)), key=lambda i: -vals[i])
    return [vals[i] for i in order], [vecs[:, i] for i in order]


def _mp(v) -> mpmath.mpf:
    r = sp.Rational(v)
    return mpmath.mpf(r.p) / r.q


def gap(inst: dict) -> float:
    with mpmath.workdps(DPS):
        vals, _ = _eig(inst["A"], inst["symbols"], [_mp(v) for v in inst["x"]])
        return float(vals[0] - vals[1])


def make_check(vector_index: int):
    """Compare ∇λ₁ with ∇(vᵀA v) for v the eigenvector number vector_index (the lemma: 0, v₁)."""

    def check(inst: dict, impl, budget) -> Evidence:
        if not _derive_cached().is_zero:
            return Evidence(False, {"symbolic_residual": str(_derive_cached())}, note="2×2 closed form fails")
        xs, mat = inst["symbols"], inst["A"]
        with mpmath.workdps(DPS):
            x = [_mp(v) for v in inst["x"]]
            vals, vecs = _eig(mat, xs, x)
            v = vecs[vector_index]
            # ∂_iA(x*) exactly (rational entries, polynomial arithmetic), then to the working precision.
            polys = [[sp.Poly(e, *xs) for e in row] for row in mat.tolist()]
            dmat = [
                mpmath.matrix(
                    [[_mp(q.diff(s).eval(tuple(inst["x"])) if q.degree(s) > 0 else 0) for q in row] for row in polys]
                )
                for s in xs
            ]
            c = mpmath.mpf(constant(budget, CONSTANTS, "c_rhs"))
            rhs = [c * (v.T * dm * v)[0] for dm in dmat]
            scale = max(abs(e) for e in vals) + 1
            # The step stays far below the gap so λ₁ is smooth (analytic) on [x* − h, x* + h].
            h = mpmath.mpf(vals[0] - vals[1]) / scale * mpmath.mpf(10) ** -12

            def central(i: int, step: mpmath.mpf) -> mpmath.mpf:
                up = [c + (step if k == i else 0) for k, c in enumerate(x)]
                dn = [c - (step if k == i else 0) for k, c in enumerate(x)]
                return (_eig(mat, xs, up)[0][0] - _eig(mat, xs, dn)[0][0]) / (2 * step)

            lhs = [central(i, h) for i in range(len(xs))]
            richardson = [abs(central(i, h / 2) - lhs[i]) for i in range(len(xs))]
            err = max(abs(a - b) for a, b in zip(lhs, rhs))
            tol = 10 * max(richardson) + scale * mpmath.mpf(10) ** -(DPS - 15) / h
        ok = err <= tol
        values = {
            "grad_lambda1_fd": [float(a) for a in lhs],
            "grad_vAv": [float(b) for b in rhs],
            "max_abs_difference": float(err),
            "tolerance": float(tol),
            "eigengap": float(vals[0] - vals[1]),
        }
        note = "" if ok else "∇λ₁(A(x*)) differs from ∇(v₁ᵀA(x)v₁) at x*"
        return Evidence(bool(ok), values, margin=float((tol - err) / tol), note=note)

    return check


def describe(inst: dict) -> dict:
    return {
        "symbols": [str(s) for s in inst["symbols"]],
        "A": str(inst["A"].tolist()) if "family" not in inst else inst["family"],
        "x": [str(v) for v in inst["x"]],
    }


CLAIM = Claim(
    id="wen2023.lemma57",
    paper="wen2023",
    ref="Lemma 57, App. D.7 (after Magnus [19]); used in (12)",
    kind="identity",
    statement=r"\lambda_1(A(x^*))>\lambda_2(A(x^*))\ \Rightarrow\ \nabla\lambda_1(A(x))|_{x=x^*}"
    r"=\nabla(v_1^\top A(x)v_1)|_{x=x^*},\quad v_1=v_1(A(x^*))",
    summary="With an eigengap, the gradient of the top eigenvalue is the gradient of v₁ᵀA(x)v₁ at x*.",
    faithful="exact",
    # Hessians of manifold losses cost sympy time: from the default profile on.
    instances=lambda budget: budget.scaled(
        matrix_functions(),
        st.one_of(matrix_functions(), manifold_hessians()),
        st.one_of(matrix_functions(), manifold_hessians()),
    ),
    check=make_check(0),
    derive=_derive_cached,
    assumptions=(
        Assumption(
            "eigengap",
            lambda inst: gap(inst) > 1e-20,
            "λ₁(A(x*)) > λ₂(A(x*)) (beyond 50-digit precision)",
        ),
    ),
    describe=describe,
    constants=CONSTANTS,
)
