r"""The exact Taylor expansion of a polynomial loss at an exact point, and a torch evaluator for it.

    h(z) = L(x + z) − L(x) = Σ_{α ≠ 0} c_α z^α      (finite and exact: L is a polynomial, x rational)

From the coefficients: ∇L(x) (|α| = 1), ∇²L(x) (|α| = 2), and for every order k the bound
B_k = Σ_{|α|=k} |c_α| m_α ≥ max_{‖v‖≤1} |Σ_{|α|=k} c_α v^α| with m_α = max_{‖v‖≤1}|v^α| = (Π α_i^{α_i}/k^k)^{1/2}.
Evaluating h from its own coefficients (instead of L(x + z) − L(x) from L's) keeps the difference free of
cancellation: near x the round-off is eps times Σ|c_α||z|^{|α|}, not eps times the size of L's monomials.
The shift x ↦ x + z is done in sympy's sparse polynomial ring over QQ (fast, exact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import sympy as sp
import torch


def _max_monomial_on_ball(alpha: tuple[int, ...]) -> float:
    """max_{‖v‖≤1} |v^α| = (Π α_i^{α_i} / |α|^{|α|})^{1/2} (Lagrange, at v_i² = α_i/|α|)."""
    k = sum(alpha)
    return math.sqrt(math.prod(a**a for a in alpha if a) / k**k)


@dataclass(eq=False)
class MonomialMap:
    """z ↦ Σ_β z^β C[β, :] for a fixed set of exponents β (rows of `exps`) and coefficient rows C."""

    exps: torch.Tensor  # (T, D) long
    coefs: torch.Tensor  # (T, k)
    degree: int
    # (βᵀ, C) on each (device, dtype) evaluated on: moved once, not at every call.
    _placed: dict = field(default_factory=dict, repr=False)

    @staticmethod
    def build(rows: dict[tuple[int, ...], list[float]], d: int, k: int) -> MonomialMap:
        exps = torch.tensor(list(rows), dtype=torch.long).reshape(-1, d)
        coefs = torch.tensor(list(rows.values()), dtype=torch.float64).reshape(-1, k)
        return MonomialMap(exps, coefs, int(exps.sum(-1).max()) if len(rows) else 0)

    def _on(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        key = (z.device, z.dtype)
        if key not in self._placed:
            exps = self.exps.T.contiguous().to(z.device)
            self._placed[key] = (exps, self.coefs.to(z), exps.to(z.dtype))
        return self._placed[key]

    def evaluate(self, z: torch.Tensor) -> torch.Tensor:
        """The same values off autograd's graph, in four torch operations (z^β by pow, exact for the
        exponent 0 and 1, correctly rounded powers otherwise: the values agree with `__call__`'s to
        round-off): what a closure evaluating the loss and its gradient thousands of times pays."""
        _, coefs, exps = self._on(z)
        return z.unsqueeze(-1).pow(exps).prod(-2) @ coefs

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        # Powers by repeated products (differentiable at z = 0, unlike pow with exponent 0).
        pows = [torch.ones_like(z)]
        for _ in range(self.degree):
            pows.append(pows[-1] * z)
        table = torch.stack(pows, -1)  # (..., D, K)
        exps, coefs, _ = self._on(z)
        # Every factor z_i^{β_i} of every monomial in one gather: (..., D, T).
        factors = table.gather(-1, exps.expand(*z.shape[:-1], *exps.shape))
        mono = factors[..., 0, :]
        for i in range(1, z.shape[-1]):
            mono = mono * factors[..., i, :]
        return mono @ coefs


@dataclass(eq=False)
class LocalPolynomial:
    """h(z) = L(x + z) − L(x) at the exact point x, with its exact coefficients."""

    point: tuple[sp.Rational, ...]
    value: sp.Rational
    terms: tuple[tuple[tuple[int, ...], sp.Rational], ...]  # (α, c_α), α ≠ 0

    @property
    def d(self) -> int:
        return len(self.point)

    @cached_property
    def degree(self) -> int:
        return max((sum(a) for a, _ in self.terms), default=0)

    def coefficient(self, alpha: tuple[int, ...]) -> sp.Rational:
        return dict(self.terms).get(alpha, sp.Integer(0))

    @cached_property
    def gradient(self) -> sp.Matrix:
        """∇L(x), exactly."""
        unit = [tuple(int(i == j) for j in range(self.d)) for i in range(self.d)]
        return sp.Matrix([self.coefficient(e) for e in unit])

    @cached_property
    def hessian(self) -> sp.Matrix:
        """∇²L(x), exactly: 2c_{2e_i} on the diagonal, c_{e_i+e_j} off it."""

        def entry(i: int, j: int) -> sp.Rational:
            alpha = tuple((k == i) + (k == j) for k in range(self.d))
            return self.coefficient(alpha) * (2 if i == j else 1)

        return sp.Matrix(self.d, self.d, entry)

    def hessian_tensor(self) -> torch.Tensor:
        return torch.tensor([[float(v) for v in row] for row in self.hessian.tolist()], dtype=torch.float64)

    def gradient_tensor(self) -> torch.Tensor:
        return torch.tensor([float(v) for v in self.gradient], dtype=torch.float64)

    @cached_property
    def tail_bounds(self) -> tuple[float, ...]:
        """B_k for k = 0 … degree (B_0 = 0)."""
        out = [0.0] * (self.degree + 1)
        for alpha, c in self.terms:
            out[sum(alpha)] += abs(float(c)) * _max_monomial_on_ball(alpha)
        return tuple(out)

    @cached_property
    def _value_map(self) -> MonomialMap:
        return MonomialMap.build({a: [float(c)] for a, c in self.terms}, self.d, 1)

    @cached_property
    def _gradient_map(self) -> MonomialMap:
        """∂h/∂z_i = Σ_α c_α α_i z^{α−e_i}, collected by monomial."""
        rows: dict[tuple[int, ...], list[float]] = {}
        for alpha, c in self.terms:
            for i, a in enumerate(alpha):
                if a:
                    beta = tuple(b - (j == i) for j, b in enumerate(alpha))
                    rows.setdefault(beta, [0.0] * self.d)[i] += a * float(c)
        return MonomialMap.build(rows, self.d, self.d)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """h(z), batched: (..., D) -> (...)."""
        return self._value_map(z)[..., 0]

    def grad(self, z: torch.Tensor) -> torch.Tensor:
        """∇h(z) = ∇L(x + z), batched: (..., D) -> (..., D), from the exact derivative coefficients."""
        return self._gradient_map(z)

    def roundoff(self, radius: torch.Tensor | float) -> torch.Tensor | float:
        """Σ|c_α| r^{|α|}: h's monomial scale on ‖z‖ ≤ r ≤ 1 (float64 round-off ≲ 64 eps times this)."""
        return sum(b * radius**k for k, b in enumerate(self.scale_by_degree) if k)

    def gradient_roundoff(self, radius: torch.Tensor) -> torch.Tensor:
        """64 eps Σ|c_α||α| r^{|α|−1}: the round-off level of ∇h on ‖z‖ ≤ r (below it a computed ∇h is noise)."""
        eps = torch.finfo(torch.float64).eps
        return 64 * eps * sum(k * b * radius ** (k - 1) for k, b in enumerate(self.scale_by_degree) if k)

    @cached_property
    def scale_by_degree(self) -> tuple[float, ...]:
        out = [0.0] * (self.degree + 1)
        for alpha, c in self.terms:
            out[sum(alpha)] += abs(float(c))
        return tuple(out)


@lru_cache(maxsize=512)
def local_polynomial(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], point: tuple[sp.Rational, ...]) -> LocalPolynomial:
    """The exact expansion of the polynomial `expr` at `point` (rationals)."""
    ring, *gens = sp.ring(symbols, sp.QQ)
    poly = ring(expr)
    shifted = poly.compose([(g, g + sp.QQ(int(p.p), int(p.q))) for g, p in zip(gens, point)])
    zero = (0,) * len(symbols)
    value = sp.QQ.to_sympy(shifted.get(zero, sp.QQ(0)))
    terms = tuple((tuple(a), sp.QQ.to_sympy(c)) for a, c in shifted.terms() if tuple(a) != zero)
    return LocalPolynomial(tuple(point), value, terms)


def expand_at(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], point: list[sp.Rational]) -> LocalPolynomial:
    """`local_polynomial` with the point given as a list (sympified to Rationals)."""
    return local_polynomial(expr, tuple(symbols), tuple(sp.Rational(v) for v in point))
