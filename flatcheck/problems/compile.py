"""Compile one sympy expression to torch, HIPS autograd (numpy) and mpmath.

A family is written once, symbolically; every numeric backend evaluates the same formula, so a
disagreement between backends is a bug in flatcheck, never a difference of definitions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def _lambdify(symbols: Sequence[sp.Symbol], expr: sp.Expr, funcs: dict) -> Callable:
    return sp.lambdify(list(symbols), expr, modules=[funcs, "math"], cse=True)


def to_torch(symbols: Sequence[sp.Symbol], expr: sp.Expr) -> Callable[[torch.Tensor], torch.Tensor]:
    """Batched torch function: x of shape (..., d) -> value of shape (...)."""
    raw = _lambdify(symbols, expr, _TORCH_FUNCS)

    def f(x: torch.Tensor) -> torch.Tensor:
        out = raw(*x.unbind(-1))
        if not isinstance(out, torch.Tensor):  # a constant expression
            out = torch.full(x.shape[:-1], float(out), dtype=x.dtype, device=x.device)
        return out

    return f


def to_autograd(symbols: Sequence[sp.Symbol], expr: sp.Expr) -> Callable:
    """Function of a 1-D numpy/autograd array, differentiable by HIPS autograd."""
    raw = _lambdify(symbols, expr, _AUTOGRAD_FUNCS)
    return lambda x: raw(*[x[i] for i in range(len(symbols))])


def to_mpmath(symbols: Sequence[sp.Symbol], expr: sp.Expr) -> Callable:
    """Function of a sequence of mpmath numbers, evaluated at the current mpmath precision."""
    raw = sp.lambdify(list(symbols), expr, modules="mpmath")
    return lambda x: raw(*[mpmath.mpf(v) for v in x])
