"""Compile one sympy expression to torch, HIPS autograd (numpy) and mpmath.

A family is written once, symbolically; every numeric backend evaluates the same formula, so a
disagreement between backends is a bug in flatcheck, never a difference of definitions.
"""

from __future__ import annotations

import builtins
import functools
import linecache
from collections.abc import Callable, Sequence
from functools import lru_cache
from types import CodeType
from typing import Any

import autograd.numpy as anp
import mpmath
import sympy as sp
import torch

from flatcheck import cache

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
    "where": torch.where,
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

Exprs = sp.Expr | tuple[sp.Expr, ...]


def _lambdify_uncached(symbols: tuple[sp.Symbol, ...], expr: Exprs, backend: str) -> Callable:
    """A tuple of expressions compiles to one function returning a list, with common
    subexpressions shared between the entries (a gradient's or a Hessian's components)."""
    return compiled(symbols, backend, f"{cache.expr_key(symbols)}\n{cache.expr_key(expr)}", lambda: expr)


def compiled(symbols: tuple[sp.Symbol, ...], backend: str, key: str, make: Callable[[], Exprs]) -> Callable:
    """The function sympy's lambdify prints for the expression(s) `make()` returns, whose printed code
    is kept on disk (`flatcheck.cache`) under `key`, a string that determines the expression(s) (their
    `cache.expr_key`, or that of what they are derived from and how): on a hit, `make` is not called.

    Printing (and CSE) is the expensive part of lambdify; executing the printed code in the backend's
    namespace is cheap and gives the very function lambdify would."""
    key = f"{backend}\n{key}\n{cache.code_key(__file__)}"
    if key in _in_process:
        return _in_process[key]
    if len(_in_process) >= 4096:
        _in_process.clear()
    _in_process[key] = f = _compiled(symbols, backend, key, make)
    return f


# Keyed by the full key: a Problem is drawn anew for each instance, and the same expression compiles
# once in the process.
_in_process: dict[str, Callable] = {}


def _compiled(symbols: tuple[sp.Symbol, ...], backend: str, key: str, make: Callable[[], Exprs]) -> Callable:
    fresh: list[Callable] = []

    def printed() -> str:
        f = _lambdify_sympy(symbols, make(), backend)
        fresh.append(f)
        source = "".join(linecache.getlines(f.__code__.co_filename))
        # Code that reads a name outside the backend's namespace (a free symbol that is not an
        # argument) would not run the same from its text alone: such a function is not kept.
        return source if _names(f.__code__) <= set(_namespace(backend)) | _BUILTINS else ""

    source = cache.memo("lambdify", key, printed, str.encode, bytes.decode)
    if fresh:
        return fresh[0]
    if not source:
        return _lambdify_sympy(symbols, make(), backend)
    found: dict[str, Any] = {}
    # The namespace is shared: a compiled function only reads its globals.
    exec(compile(source, "<lambdifygenerated-cached>", "exec"), _namespace(backend), found)
    return found["_lambdifygenerated"]


_WHERE = sp.Function("where")


def _where(*pieces: tuple[sp.Expr, Any]) -> sp.Expr:
    """Piecewise as nested torch.where: lambdify prints it as a Python conditional, which a tensor
    of several values cannot decide (piecewise polynomials: C²-but-not-C³ losses)."""
    (value, cond), *rest = pieces
    if cond == sp.true or not rest:
        return value
    return _WHERE(cond, value, _where(*rest))


def _lambdify_sympy(symbols: tuple[sp.Symbol, ...], expr: Exprs, backend: str) -> Callable:
    if backend == "torch":
        expr = (
            tuple(e.replace(sp.Piecewise, _where) for e in expr)
            if isinstance(expr, tuple)
            else expr.replace(sp.Piecewise, _where)
        )
    target = list(expr) if isinstance(expr, tuple) else expr
    return sp.lambdify(list(symbols), target, modules=_MODULES[backend], cse=backend != "mpmath")


_BUILTINS = set(dir(builtins))


def _names(code: CodeType) -> set[str]:
    """The global (and attribute) names a code object and the code nested in it read."""
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            found |= _names(const)
    return found


@functools.cache
def _namespace(backend: str) -> dict[str, Any]:
    """The globals lambdify gives a function of this backend (modules and translations, `builtins`,
    `range`), taken from lambdify itself so that the cached code runs exactly as the printed one."""
    return dict(sp.lambdify([], 0, modules=_MODULES[backend]).__globals__)


# One lambdify per (symbols, expression(s), backend) in the process: printing and CSE are the
# expensive part of compiling, and the same instance (Example 1, a shrunk quadratic) is drawn by
# many claims and again while hypothesis shrinks. Compiled functions are pure: sharing is safe.
_lambdify_cached = lru_cache(maxsize=4096)(_lambdify_uncached)


def _lambdify(symbols: tuple[sp.Symbol, ...], expr, backend: str) -> Callable:
    try:
        return _lambdify_cached(symbols, expr, backend)
    except TypeError:  # an unhashable expression (a mutable sympy Matrix): compile it uncached
        return _lambdify_sympy(symbols, expr, backend)


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


def to_torch_many(
    symbols: Sequence[sp.Symbol], exprs: Sequence[sp.Expr] | Callable[[], Sequence[sp.Expr]], key: str | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Several expressions compiled together: x of shape (..., d) -> values of shape (..., len(exprs)).

    One compiled function with shared subexpressions instead of one per entry (a Hessian has d²).
    With `key` (a string that determines the expressions, e.g. "the gradient of" an expression's key), `exprs`
    may be a function making them, called only when the compiled code is not on disk."""
    if key is None:
        raw = _lambdify(tuple(symbols), tuple(exprs), "torch")
    else:
        raw = compiled(tuple(symbols), "torch", key, lambda: tuple(exprs() if callable(exprs) else exprs))

    # Which entries are constants is fixed by the expressions: learnt at the first call. Where there are
    # constants (the zero blocks of per-example gradients), they are written as one row, not one full()
    # each: same values, a few torch calls instead of one per entry.
    layout: dict[str, Any] = {}

    def f(x: torch.Tensor) -> torch.Tensor:
        vals = raw(*x.unbind(-1))
        if not layout:
            layout["tensors"] = [i for i, v in enumerate(vals) if isinstance(v, torch.Tensor)]
            layout["consts"] = [i for i, v in enumerate(vals) if not isinstance(v, torch.Tensor)]
            layout["values"] = [float(vals[i]) for i in layout["consts"]]
        tensors, consts = layout["tensors"], layout["consts"]
        if not tensors or not consts:
            return torch.stack([_full(v, x) for v in vals], dim=-1)
        out = torch.empty(*x.shape[:-1], len(vals), dtype=x.dtype, device=x.device)
        out[..., consts] = torch.tensor(layout["values"], dtype=x.dtype, device=x.device)
        out[..., tensors] = torch.stack([vals[i] for i in tensors], dim=-1)
        return out

    return f


def to_autograd(symbols: Sequence[sp.Symbol], expr: sp.Expr) -> Callable:
    """Function of a 1-D numpy/autograd array, differentiable by HIPS autograd."""
    if not sp.sympify(expr).free_symbols & set(symbols):  # a constant: keep it a function of x for autograd
        return lambda x: 0.0 * x[0] + float(expr)
    raw = _lambdify(tuple(symbols), expr, "autograd")
    return lambda x: raw(*[x[i] for i in range(len(symbols))])


def to_mpmath(symbols: Sequence[sp.Symbol], expr: Exprs | Callable[[], Exprs], key: str | None = None) -> Callable:
    """Function of a sequence of mpmath numbers, evaluated at the current mpmath precision. With
    `key`, `expr` may be a function making the expression(s), as for `to_torch_many`."""
    if key is None:
        raw = _lambdify(tuple(symbols), expr, "mpmath")
    else:
        raw = compiled(tuple(symbols), "mpmath", key, expr if callable(expr) else lambda: expr)
    return lambda x: raw(*[mpmath.mpf(v) for v in x])
