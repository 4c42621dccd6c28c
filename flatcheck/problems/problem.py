"""A test function f: R^d -> R defined once as a sympy expression.

The exact derivatives come from sympy; torch, HIPS autograd and mpmath evaluate the same formula.
What a family knows in closed form (a smoothness constant on a ball, its minimizers, its Hessian
spectrum) is attached by the family as plain callables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import mpmath
import sympy as sp
import torch

from flatcheck import cache
from flatcheck.problems import compile as cc
from flatcheck.problems.local import MonomialMap


# Derivatives are cached per (expression, variables) in the process and on disk (`flatcheck.cache`):
# with the same run seed, hypothesis draws the same instances for many claims (and again while
# shrinking), each time as a new Problem, and again in the next run; sympy's differentiation of
# ridge powers dominates a quick catalog run otherwise.
def _on_disk(what: str, expr: sp.Expr, symbols: tuple[sp.Symbol, ...], make: Callable[[], Any]) -> Any:
    key = f"{what}\n{cache.expr_key(symbols)}\n{cache.expr_key(expr)}\n{cache.code_key(__file__)}"
    return cache.memo("derivatives", key, make)


def _diff(expr: sp.Expr, s: sp.Symbol, symbols: tuple[sp.Symbol, ...], expanded: bool) -> sp.Expr:
    """∂expr/∂s. An expanded polynomial (a monomial problem's) is differentiated as a table of
    exponents (`sp.Poly`): sympy's `diff` walks its hundreds of terms one by one, with assumption
    queries on each (a degree-6 ridge in d = 6 has 462). The same polynomial either way; a formula
    that is not expanded keeps its compact form (its compiled code is evaluated as written)."""
    if expanded:
        return sp.Poly(expr, *symbols, expand=False).diff(s).as_expr()
    return sp.diff(expr, s)


@lru_cache(maxsize=1024)
def _gradient(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], expanded: bool) -> tuple[sp.Expr, ...]:
    return _on_disk(
        f"gradient (expanded: {expanded})",
        expr,
        symbols,
        lambda: tuple(_diff(expr, s, symbols, expanded) for s in symbols),
    )


@lru_cache(maxsize=1024)
def _hessian(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], expanded: bool) -> tuple[tuple[sp.Expr, ...], ...]:
    return _on_disk(
        f"hessian (expanded: {expanded})", expr, symbols, lambda: _hessian_uncached(expr, symbols, expanded)
    )


def _hessian_uncached(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], expanded: bool) -> tuple[tuple[sp.Expr, ...], ...]:
    """Symmetric: the upper triangle is differentiated and mirrored (half the sympy work)."""
    grad, diag = _gradient(expr, symbols, expanded), _hessian_diagonal(expr, symbols, expanded)
    d = len(symbols)
    upper = {(i, j): _diff(grad[i], symbols[j], symbols, expanded) for i in range(d) for j in range(i + 1, d)}
    upper.update({(i, i): diag[i] for i in range(d)})
    return tuple(tuple(upper[min(i, j), max(i, j)] for j in range(d)) for i in range(d))


@lru_cache(maxsize=1024)
def _hessian_diagonal(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], expanded: bool) -> tuple[sp.Expr, ...]:
    """∂²f/∂x_i²: all tr̄ needs (d derivatives instead of the Hessian's d(d+1)/2)."""
    return _on_disk(
        f"hessian diagonal (expanded: {expanded})",
        expr,
        symbols,
        lambda: tuple(_diff(g, s, symbols, expanded) for g, s in zip(_gradient(expr, symbols, expanded), symbols)),
    )


@lru_cache(maxsize=1024)
def _trace_bar(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], is_polynomial: bool, expanded: bool) -> sp.Expr:
    def make() -> sp.Expr:
        tr = sp.Add(*_hessian_diagonal(expr, symbols, expanded)) / len(symbols)
        return sp.expand(tr) if is_polynomial else tr

    return _on_disk(f"trace bar (polynomial: {is_polynomial}, expanded: {expanded})", expr, symbols, make)


def _table(polys: list[sp.Poly], d: int) -> MonomialMap:
    """The polynomials as columns of one table: a row per exponent β that any of them has."""
    rows: dict[tuple[int, ...], list[float]] = {}
    for j, q in enumerate(polys):
        for alpha, c in q.as_dict().items():
            rows.setdefault(tuple(alpha), [0.0] * len(polys))[j] = float(c)
    return MonomialMap.build(rows, d, len(polys))


@lru_cache(maxsize=256)
def _monomial_map(exprs: tuple[sp.Expr, ...], symbols: tuple[sp.Symbol, ...]) -> MonomialMap:
    return _table([sp.Poly(e, *symbols) for e in exprs], len(symbols))


@lru_cache(maxsize=256)
def _value_grad_map(expr: sp.Expr, symbols: tuple[sp.Symbol, ...]) -> MonomialMap:
    """[e, ∂e/∂s_1, …] as one table, the derivatives taken on sp.Poly's table of exponents (exact)."""
    poly = sp.Poly(expr, *symbols)
    return _table([poly, *(poly.diff(s) for s in symbols)], len(symbols))


def monomial_map(exprs: list[sp.Expr], symbols: tuple[sp.Symbol, ...]) -> Callable[[torch.Tensor], torch.Tensor]:
    """Polynomials as Σ_β x^β C[β, :], batched: x (..., d) -> (..., len(exprs))."""
    return _monomial_map(tuple(exprs), tuple(symbols))


@dataclass(eq=False)
class Problem:
    """One instance of a family: f(x) = `expr` in the variables `symbols`."""

    family: str
    symbols: tuple[sp.Symbol, ...]
    expr: sp.Expr
    params: dict[str, Any] = field(default_factory=dict)
    # An upper bound on sup ||∇²f|| over the ball B(center, radius): a Lipschitz constant of ∇f there.
    beta_on_ball: Callable[[torch.Tensor, float], float] | None = None
    is_polynomial: bool = True
    # Closed-form facts a family knows about this instance (exact matrices, minimizers, ...).
    known: dict[str, Any] = field(default_factory=dict)
    # Setting-1 structure f = (1/n) Σ_i f_i: the per-example losses f_i, when the family has them
    # (stochastic algorithms — SAP, stochastic SAM, SGD — draw examples from these).
    examples: tuple[sp.Expr, ...] = ()
    # `expr` and `examples` are expanded polynomials: their torch derivatives are evaluated as a table of
    # monomials times a coefficient matrix (a few torch operations instead of one per term of the
    # compiled formula — what a run of thousands of steps on a small problem pays for). The same
    # polynomials, summed in another order: the values agree with the compiled formula to round-off.
    monomial: bool = False

    @property
    def d(self) -> int:
        return len(self.symbols)

    def describe(self) -> dict[str, Any]:
        return {"family": self.family, "d": self.d, **self.params}

    # ---- symbolic derivatives -------------------------------------------------------------------
    @cached_property
    def grad_expr(self) -> list[sp.Expr]:
        return list(_gradient(self.expr, tuple(self.symbols), self.monomial))

    @cached_property
    def hess_expr(self) -> sp.Matrix:
        return sp.Matrix(_hessian(self.expr, tuple(self.symbols), self.monomial))

    @cached_property
    def trace_bar_expr(self) -> sp.Expr:
        """tr̄(x) = tr ∇²f(x) / d (ahn2024 §2.2)."""
        return _trace_bar(self.expr, tuple(self.symbols), self.is_polynomial, self.monomial)

    def _derived_key(self, what: str, of: Any = None) -> str:
        """The key of a quantity derived from f (or from `of`) by this module's code (what
        `cc.compiled` keeps under it); the class is part of it, should a subclass derive otherwise."""
        source = self.expr if of is None else of
        cls = f"{type(self).__module__}.{type(self).__qualname__}"
        return f"{what} of\n{cls}\n{cache.expr_key(self.symbols)}\n{cache.expr_key(source)}\n{cache.code_key(__file__)}"

    # ---- torch ------------------------------------------------------------------------------------
    @cached_property
    def f(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """Batched f: (..., d) -> (...)."""
        return cc.to_torch(self.symbols, self.expr)

    def _compile_many(
        self, what: str, make: Callable[[], list[sp.Expr]], of: Any = None
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """Several derivative expressions (`what`, made by `make` from f or from `of`) as one batched
        function (..., d) -> (..., len(exprs)); compiled code is kept on disk under the key of `what`
        (`_derived_key`), so that a warm run neither differentiates nor prints."""
        if self.monomial:
            return monomial_map(make(), self.symbols)
        return cc.to_torch_many(self.symbols, make, self._derived_key(what, of))

    # Vector-valued quantities compile to one function each (shared subexpressions), not one per entry.
    @cached_property
    def _grad_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return self._compile_many("gradient", lambda: self.grad_expr)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """Exact gradient (sympy-derived), batched: (..., d) -> (..., d)."""
        return self._grad_fn(x)

    @cached_property
    def _hess_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return self._compile_many("hessian", lambda: list(self.hess_expr))

    def hess(self, x: torch.Tensor) -> torch.Tensor:
        """Exact Hessian, batched: (..., d) -> (..., d, d)."""
        return self._hess_fn(x).unflatten(-1, (self.d, self.d))

    @cached_property
    def _trace_bar_grad_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return self._compile_many(
            f"gradient of the trace bar (expanded: {self.is_polynomial})",
            lambda: [_diff(self.trace_bar_expr, s, self.symbols, self.monomial) for s in self.symbols],
        )

    def grad_trace_bar(self, x: torch.Tensor) -> torch.Tensor:
        """∇tr̄(x), exact (third derivatives of f)."""
        return self._trace_bar_grad_fn(x)

    @property
    def n_examples(self) -> int:
        return len(self.examples)

    @cached_property
    def _example_grad_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return self._compile_many(
            "gradients of the examples",
            lambda: [_diff(e, s, self.symbols, self.monomial) for e in self.examples for s in self.symbols],
            self.examples,
        )

    def grad_example(self, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """∇f_i(x) row-wise: x (B, d), index (B,) of example numbers -> (B, d)."""
        if not self.examples:
            raise ValueError(f"{self.family} has no per-example split")
        grads = self._example_grad_fn(x).unflatten(-1, (self.n_examples, self.d))  # (B, n, d)
        return grads[torch.arange(x.shape[0], device=x.device), index]

    @cached_property
    def example_f(self) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        return [cc.to_torch(self.symbols, e) for e in self.examples]

    @cached_property
    def value_grad_tables(self) -> list[MonomialMap] | None:
        """f with its exact gradient, x (..., d) -> (..., 1 + d) = [f, ∇f], as one monomial table, then
        each example's [f_i, ∇f_i] — a loss and its gradient in one evaluation, for a closure handing a
        user's optimizer the exact gradient (`flatcheck.impl.protocol`). None where f or an f_i is not
        a polynomial in the symbols with numeric coefficients."""
        if not self.is_polynomial:
            return None
        try:
            return [_value_grad_map(e, tuple(self.symbols)) for e in (self.expr, *self.examples)]
        except (sp.PolynomialError, TypeError):
            return None

    # ---- HIPS autograd (independent cross-check) -------------------------------------------------
    @cached_property
    def f_autograd(self) -> Callable:
        return cc.to_autograd(self.symbols, self.expr)

    # ---- mpmath -------------------------------------------------------------------------------------
    @cached_property
    def f_mp(self) -> Callable[[list], mpmath.mpf]:
        return cc.to_mpmath(self.symbols, self.expr)

    @cached_property
    def _grad_mp_parts(self) -> list[Callable]:
        return [cc.to_mpmath(self.symbols, g) for g in self.grad_expr]

    def grad_mp(self, x: list) -> mpmath.matrix:
        return mpmath.matrix([g(x) for g in self._grad_mp_parts])

    def mp_vector(self, exprs: list[sp.Expr], extra: tuple[sp.Symbol, ...] = ()) -> Callable[[list], mpmath.matrix]:
        """Compile expressions in (x, *extra) to an mpmath vector function of the concatenated values."""
        parts = [cc.to_mpmath(self.symbols + extra, e) for e in exprs]
        return lambda vals: mpmath.matrix([p(vals) for p in parts])
