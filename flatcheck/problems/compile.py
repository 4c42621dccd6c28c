"""Compile one sympy expression to torch, HIPS autograd (numpy) and mpmath.

A family is written once, symbolically; every numeric backend evaluates the same formula, so a
disagreement between backends is a bug in flatcheck, never a difference of definitions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import autograd.numpy as anp
import mpmath
import sympy as sp
import torch

_TORCH_FUNCS = {
    "exp": torch.exp,
    "log": torch.log,
    "sin": torch.sin,
    "cos": torch.cos,
    "tanh": torch.tanh,
    "sqrt": torch.sqrt,
    "Abs": torch.abs,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "atan": torch.atan,
}

_AUTOGRAD_FUNCS = {
    "exp": anp.exp,
    "log": anp.log,
    "sin": anp.sin,
    "cos": anp.cos,
    "tanh": anp.tanh,
    "sqrt": anp.sqrt,
    "Abs": anp.abs,
    "sinh": anp.sinh,
    "cosh": anp.cosh,
    "atan": anp.arctan,
}


_MODULES = {"torch": [_TORCH_FUNCS, "math"], "autograd": [_AUTOGRAD_FUNCS, "math"], "mpmath": "mpmath"}


def _lambdify_uncached(symbols: tuple[sp.Symbol, ...], expr, backend: str) -> Callable:
    """A tuple of expressions compiles to one function returning a list, with common
    subexpressions shared between the entries (a gradient's or a Hessian's components)."""
    target = list(expr) if isinstance(expr, tuple) else expr
    return sp.lambdify(list(symbols), target, modules=_MODULES[backend], cse=backend != "mpmath")


# One lambdify per (symbols, expression(s), backend) in the process: printing and CSE are the
# expensive part of compiling, and the same instance (Example 1, a shrunk quadratic) is drawn by
# many claims and again while hypothesis shrinks. Compiled functions are pure: sharing is safe.
_lambdify_cached = lru_cache(maxsize=4096)(_lambdify_uncached)


def _lambdify(symbols: tuple[sp.Symbol, ...], expr, backend: str) -> Callable:
    try:
        return _lambdify_cached(symbols, expr, backend)
    except TypeError:  # an unhashable expression (a mutable sympy Matrix): compile it uncached
        return _lambdify_uncached(symbols, expr, backend)


def _full(value, x: torch.Tensor) -> torch.Tensor:
    """A component as a tensor of shape x.shape[:-1]; constant expressions come back as numbers."""
    if isinstance(value, torch.Tensor):
        return value
    out = torch.full(x.shape[:-1], float(value), dtype=x.dtype, device=x.device)
    # Keep it on the autograd graph (with zero gradient), so a constant f can be differentiated.
    return out + 0 * x[..., 0] if x.requires_grad else out


def to_torch(symbols: Sequence[sp.Symbol], expr: sp.Expr) -> Callable[[torch.Tensor], torch.Tensor]:
    """Batched torch function: x of shape (..., d) -> value of shape (...)."""
    raw = _lambdify(tuple(symbols), expr, "torch")

    def f(x: torch.Tensor) -> torch.Tensor:
        return _full(raw(*x.unbind(-1)), x)

    return f


def to_torch_many(symbols: Sequence[sp.Symbol], exprs: Sequence[sp.Expr]) -> Callable[[torch.Tensor], torch.Tensor]:
    """Several expressions compiled together: x of shape (..., d) -> values of shape (..., len(exprs)).

    One compiled function with shared subexpressions instead of one per entry (a Hessian has d²)."""
    raw = _lambdify(tuple(symbols), tuple(exprs), "torch")

    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.stack([_full(v, x) for v in raw(*x.unbind(-1))], dim=-1)

    return f


def to_autograd(symbols: Sequence[sp.Symbol], expr: sp.Expr) -> Callable:
    """Function of a 1-D numpy/autograd array, differentiable by HIPS autograd."""
    if not sp.sympify(expr).free_symbols & set(symbols):  # a constant: keep it a function of x for autograd
        return lambda x: 0.0 * x[0] + float(expr)
    raw = _lambdify(tuple(symbols), expr, "autograd")
    return lambda x: raw(*[x[i] for i in range(len(symbols))])


def to_mpmath(symbols: Sequence[sp.Symbol], expr: sp.Expr) -> Callable:
    """Function of a sequence of mpmath numbers, evaluated at the current mpmath precision."""
    raw = _lambdify(tuple(symbols), expr, "mpmath")
    return lambda x: raw(*[mpmath.mpf(v) for v in x])
