"""A claim's derive() computed once: in the process and on disk (`flatcheck.cache`).

A check reads what derive() returns (a coefficient, an exact constant), so derive() runs in every
process that checks the claim, and again in the next run. The registry hands each claim, and the
module whose check calls it, a wrapper of its derive() whose value is kept on disk, keyed by the
function's name, the source of its paper's package and of the engine, and sympy's version; a value
that cannot be pickled (one holding a compiled function) is only kept in the process."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import sympy

import flatcheck
from flatcheck import cache

_wrappers: dict[Callable[..., Any], Callable[..., Any]] = {}


def sources(derive: Callable[..., Any]) -> list[Any]:
    """The code a derive() may run besides the engine: its module, and the package of its module (a
    paper's claims and their helpers)."""
    module = inspect.getmodule(getattr(derive, "func", derive))
    if module is None:
        return [derive]
    package = sys.modules.get(module.__name__.rpartition(".")[0])
    return [module] + ([package] if package is not None and hasattr(package, "__path__") else [])


def code_key(derive: Callable[..., Any]) -> str:
    """sympy's version and a digest of the engine's and the claim's code: what a derivation depends
    on besides its inputs."""
    return f"sympy {sympy.__version__}\n{cache.source_hash(flatcheck, *sources(derive))}"


def cached_derive(derive: Callable[..., Any]) -> Callable[..., Any]:
    """derive, with its value (called without arguments) computed once per process and kept on
    disk; called with arguments, it is derive itself. One wrapper per function (twins share one)."""
    if derive in _wrappers or getattr(derive, "__flatcheck_cached__", False):
        return _wrappers.get(derive, derive)
    name = f"{getattr(derive, '__module__', '')}.{getattr(derive, '__qualname__', repr(derive))}"
    kept: list[Any] = []

    @functools.wraps(derive)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return derive(*args, **kwargs)
        if not kept:
            kept.append(cache.memo("derived", f"{name}\n{code_key(derive)}", derive))
        return kept[0]

    wrapper.__flatcheck_cached__ = True  # type: ignore[attr-defined]
    _wrappers[derive] = wrapper
    return wrapper


def install(module: ModuleType, derive: Callable[..., Any]) -> Callable[..., Any]:
    """The cached wrapper of derive, put in place of derive in the claim's module and in the module
    that defines it (where a shared check calls it), so that the checks read the kept value too."""
    wrapper = cached_derive(derive)
    name = getattr(derive, "__name__", None)
    for home in (module, sys.modules.get(getattr(derive, "__module__", "") or "")):
        if name and home is not None and getattr(home, name, None) is derive:
            setattr(home, name, wrapper)
    return wrapper
