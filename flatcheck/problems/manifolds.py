r"""Families with a known manifold of minimizers Γ of rank M (wen2023 Assumption 1), with exact points on Γ.

- `weighted_squares`: L(x, y) = Σ_k F_k(x) y_k², F_k(x) = c_k + Σ_j a_kj (x_j − b_kj)² with c_k > 0, a ≥ 0
  (the family of the Figure 1 toy). Γ = {y = 0}, dimension D − M; on Γ, ∇²L = diag(0, 2F₁(x), …, 2F_M(x)),
  so rank M and the spectrum is known exactly. Per-example split L_k = M·F_k y_k² (L = (1/M) Σ L_k),
  each ∇²L_k rank one on Γ (wen2023 §4, Setting).
- `setting_one`: wen2023 §4's Setting: L_k(x) = ℓ(f_k(x), y_k), L = (1/M) Σ_k L_k with models
  f_k(x) = a_kᵀx + ½(c_kᵀx)², loss ℓ(y′, y) = (s/2)(y′ − y)² + q(y′ − y)⁴ (C⁴, argmin_{y′} ℓ = y,
  ℓ″ = s > 0 at y′ = y) and labels y_k = f_k(p) at a rational base point p, so p ∈ Γ = {f = y} exactly.
  On Γ, ∇²L_k = ℓ″ ∇f_k∇f_kᵀ (rank one) and rank ∇²L = M when the ∇f_k(p) are independent.
- `kernel_quadratic`: ½xᵀAx with A PSD of rank M: Γ = ker A, points are rational null vectors.

Every instance is a `ManifoldInstance` (problem, exact point of Γ, M); `rank_condition` is
Assumption 1 checked exactly (L = 0, ∇L = 0 and rank ∇²L = M at the point, in rationals) and
`eigengap` is Assumption 7's λ₁ − λ₂.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.problems.local import LocalPolynomial, expand_at
from flatcheck.problems.points import rationals, unit_vector
from flatcheck.problems.problem import Problem
from flatcheck.problems.quadratic import householder, quadratic


@dataclass(eq=False)
class ManifoldInstance:
    """A loss with a manifold of minimizers Γ of rank M and an exact point of Γ.

    The loss is built on first use from `build` (a family constructor with its drawn parameters), so that a
    hypothesis draw stays cheap and the sympy work happens inside the check."""

    build: Callable[[], Problem]
    point: list[sp.Rational]
    m: int

    @cached_property
    def problem(self) -> Problem:
        return self.build()

    def x_tensor(self) -> torch.Tensor:
        return torch.tensor([float(v) for v in self.point], dtype=torch.float64)

    def describe(self) -> dict[str, Any]:
        return {"problem": self.problem.describe(), "point": [str(v) for v in self.point], "M": self.m}

    def local(self) -> LocalPolynomial:
        """The exact expansion L(x + z) − L(x) at the point (`flatcheck.problems.local`)."""
        return expand_at(self.problem.expr, self.problem.symbols, self.point)

    def hessian(self) -> sp.Matrix:
        """∇²L at the point, exactly."""
        return self.local().hessian

    def spectrum(self) -> torch.Tensor:
        """Eigenvalues of ∇²L at the point, descending (λ₁ ≥ λ₂ ≥ …)."""
        return torch.linalg.eigvalsh(self.local().hessian_tensor()).flip(-1)

    def example_hessians(self) -> list[sp.Matrix]:
        return [expand_at(e, self.problem.symbols, self.point).hessian for e in self.problem.examples]


def rank_condition(inst: ManifoldInstance) -> bool:
    """Assumption 1 at the point, exactly: L = 0, ∇L = 0 (a global minimizer of L ≥ 0) and rank ∇²L = M."""
    lp = inst.local()
    return lp.value == 0 and all(g == 0 for g in lp.gradient) and lp.hessian.rank() == inst.m


def eigengap(inst: ManifoldInstance) -> float:
    """λ₁ − λ₂ of ∇²L at the point (Assumption 7); 0 when D = 1."""
    lam = inst.spectrum()
    return float(lam[0] - lam[1]) if len(lam) > 1 else 0.0


# ---- families ---------------------------------------------------------------------------------------------
def weighted_squares(c: list[sp.Rational], a: list[list[sp.Rational]], b: list[list[sp.Rational]]) -> Problem:
    """Σ_k F_k(x) y_k² with F_k = c_k + Σ_j a_kj (x_j − b_kj)² (c > 0, a ≥ 0 keep F_k > 0)."""
    m, p = len(c), len(a[0])
    if any(v <= 0 for v in c) or any(v < 0 for row in a for v in row):
        raise ValueError("weighted_squares needs c > 0 and a ≥ 0 so that every F_k > 0")
    xs = sp.symbols(f"x1:{p + 1}", real=True)
    ys = sp.symbols(f"y1:{m + 1}", real=True)
    fs = [c[k] + sum(a[k][j] * (xs[j] - b[k][j]) ** 2 for j in range(p)) for k in range(m)]
    examples = tuple(sp.expand(m * f * y**2) for f, y in zip(fs, ys))
    return Problem(
        family="weighted_squares",
        symbols=tuple(xs) + tuple(ys),
        expr=sp.expand(sum(f * y**2 for f, y in zip(fs, ys))),
        params={
            "c": [str(v) for v in c],
            "a": [[str(v) for v in r] for r in a],
            "b": [[str(v) for v in r] for r in b],
        },
        known={"M": m, "p": p, "F": tuple(fs)},
        examples=examples,
    )


def setting_one(
    a: list[list[sp.Rational]],
    c: list[list[sp.Rational]],
    base: list[sp.Rational],
    s: sp.Rational = sp.Integer(1),
    q: sp.Rational = sp.Integer(0),
) -> Problem:
    """L = (1/M) Σ_k ℓ(f_k(x), y_k), f_k = a_kᵀx + ½(c_kᵀx)², ℓ = (s/2)e² + q e⁴ (e = y′ − y), y_k = f_k(base)."""
    m, d = len(a), len(base)
    xs = sp.symbols(f"x1:{d + 1}", real=True)
    e = sp.Symbol("e", real=True)
    ell = s * e**2 / 2 + q * e**4
    # Expanded in sympy's sparse polynomial ring over QQ (exact, and much faster than sp.expand).
    ring, *gens = sp.ring(xs, sp.QQ)
    models_r = [
        sum((ring(ak) * g for ak, g in zip(a[k], gens)), ring(0))
        + sum((ring(ck) * g for ck, g in zip(c[k], gens)), ring(0)) ** 2 / 2
        for k in range(m)
    ]
    at = list(zip(gens, [sp.QQ(int(v.p), int(v.q)) for v in map(sp.Rational, base)]))
    labels = [sp.QQ.to_sympy(mk.evaluate(at)) for mk in models_r]
    examples_r = [
        ring(s) * (mk - ring(yk)) ** 2 / 2 + ring(q) * (mk - ring(yk)) ** 4 for mk, yk in zip(models_r, labels)
    ]
    examples = tuple(ex.as_expr() for ex in examples_r)
    models = [mk.as_expr() for mk in models_r]
    return Problem(
        family="setting_one",
        symbols=tuple(xs),
        expr=(sum(examples_r, ring(0)) / m).as_expr(),
        params={
            "a": [[str(v) for v in r] for r in a],
            "c": [[str(v) for v in r] for r in c],
            "base": [str(v) for v in base],
            "s": str(s),
            "q": str(q),
        },
        known={"M": m, "models": tuple(models), "labels": tuple(labels), "loss": ell, "loss_variable": e},
        examples=examples,
    )


# ---- hypothesis strategies ----------------------------------------------------------------------------------
_coef = rationals(-3, 3, (1, 2))


@st.composite
def weighted_squares_instances(
    draw, p: st.SearchStrategy[int] = st.integers(1, 2), m: st.SearchStrategy[int] = st.integers(1, 3)
):
    """A `weighted_squares` loss and an exact point (x, 0) of Γ."""
    pp, mm = draw(p), draw(m)
    build = partial(
        weighted_squares,
        c=[draw(rationals(1, 8, (1, 2))) for _ in range(mm)],
        a=[[draw(rationals(0, 4, (1, 2))) for _ in range(pp)] for _ in range(mm)],
        b=[[draw(_coef) for _ in range(pp)] for _ in range(mm)],
    )
    x = [draw(rationals(-2, 2, (1, 2, 4))) for _ in range(pp)]
    return ManifoldInstance(build, x + [sp.Integer(0)] * mm, mm)


@st.composite
def setting_one_instances(draw, d: st.SearchStrategy[int] = st.integers(2, 3), quartic_loss: bool = False):
    """A `setting_one` loss (M ≤ D examples) at its base point p ∈ Γ."""
    dd = draw(d)
    mm = draw(st.integers(1, dd))
    base = [draw(rationals(-2, 2, (1, 2))) for _ in range(dd)]
    build = partial(
        setting_one,
        a=[[draw(_coef) for _ in range(dd)] for _ in range(mm)],
        c=[[draw(rationals(-2, 2, (1, 2))) for _ in range(dd)] for _ in range(mm)],
        base=base,
        s=draw(st.sampled_from([sp.Rational(1, 2), sp.Integer(1), sp.Integer(2)])),
        q=draw(st.sampled_from([sp.Integer(0), sp.Rational(1, 4)])) if quartic_loss else sp.Integer(0),
    )
    return ManifoldInstance(build, base, mm)


@st.composite
def kernel_quadratic_instances(draw, d: st.SearchStrategy[int] = st.integers(2, 4)):
    """½xᵀAx, A = H diag(λ) H PSD with 1 ≤ M < D non-zero eigenvalues, at a rational point of ker A."""
    dd = draw(d)
    mm = draw(st.integers(1, dd - 1))
    eig = [draw(rationals(1, 16, (1, 2))) for _ in range(mm)] + [sp.Integer(0)] * (dd - mm)
    u = [draw(_coef) for _ in range(dd)]
    h = householder(u)  # A's eigenvectors: the columns of H (quadratic.py)
    coef = [draw(rationals(-2, 2, (1, 2))) for _ in range(dd - mm)]
    point = sum((cf * h[:, mm + i] for i, cf in enumerate(coef)), sp.zeros(dd, 1))
    return ManifoldInstance(partial(quadratic, eig, u), list(point), mm)


def manifold_instances() -> st.SearchStrategy[ManifoldInstance]:
    """Every family above (Assumption 1 is checked per instance by `rank_condition`)."""
    return st.one_of(weighted_squares_instances(), setting_one_instances(), kernel_quadratic_instances())


def stochastic_instances() -> st.SearchStrategy[ManifoldInstance]:
    """Families with a per-example split whose example Hessians are rank one on Γ (wen2023 §4)."""
    return st.one_of(weighted_squares_instances(), setting_one_instances())


def setting_one_directions() -> st.SearchStrategy[tuple[ManifoldInstance, list[float]]]:
    """A Setting-1 loss at its base point p ∈ Γ with a unit direction δ (for points x = p + tδ near p)."""
    return setting_one_instances().flatmap(lambda inst: st.tuples(st.just(inst), unit_vector(len(inst.point))))


def describe_with_direction(case: tuple[ManifoldInstance, list[float]]) -> dict[str, Any]:
    return {**case[0].describe(), "delta": case[1]}
