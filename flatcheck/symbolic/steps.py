"""Algebraic steps of a proof, each as a sympy expression whose sign or vanishing the step asserts.

A step "lhs ≤ rhs" is encoded by its gap rhs − lhs (must be ≥ 0), an identity "lhs = rhs" by
its difference (must be 0). `condition` restricts the step to the case of the proof it belongs
to (e.g. case 1 of Theorem 4.3's proof). `decide_symbolically` tries sympy first (factoring
to 0, or a gap whose simplified form is manifestly non-negative/negative for positive symbols);
`evaluate` decides the step at one point of rationals (a hypothesis instance) in 50-digit
mpmath, with a tolerance of 10⁻⁴⁰ relative to the gap's terms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import mpmath
import sympy as sp

DPS = 50


@dataclass(frozen=True)
class Step:
    name: str
    gap: sp.Expr
    identity: bool = False
    condition: sp.Basic = sp.true
    text: str = ""


def decide_symbolically(step: Step) -> bool | None:
    """True/False when sympy settles the step for all positive values of its symbols, else None."""
    g = sp.factor(step.gap)
    if step.identity:
        return True if g == 0 else None
    if g.is_nonnegative:
        return True
    if g.is_negative:
        return False
    return None


@lru_cache(maxsize=256)
def _compiled(step: Step) -> tuple[tuple[sp.Symbol, ...], Callable, list[Callable], Callable | None]:
    syms = tuple(sorted(step.gap.free_symbols | step.condition.free_symbols, key=str))
    terms = [sp.lambdify(syms, t, "mpmath") for t in sp.Add.make_args(sp.expand(step.gap))]
    cond = None if step.condition is sp.true else sp.lambdify(syms, step.condition, "mpmath")
    return syms, sp.lambdify(syms, step.gap, "mpmath"), terms, cond


def _applies(step: Step, exact: dict[sp.Symbol, sp.Rational], cond: Callable, args: list) -> bool:
    """Whether the point lies in the step's case, decided exactly: the point is rational and the
    condition algebraic, so sympy compares without round-off. A point on the case's boundary (where
    a step is often tight, e.g. Σηᵢ = √(D²kT/(2σ²C)) in Lemma B.2) is in a non-strict case;
    50 digits judged it by the last digit of √2·√2/2 and left it out. mpmath only where sympy
    leaves the comparison undecided."""
    decided = step.condition.subs(exact)
    if decided in (sp.true, sp.false):
        return bool(decided)
    return bool(cond(*args))


def evaluate(step: Step, point: dict[sp.Symbol, Any]) -> dict[str, Any]:
    """The step at one point of rationals: {'step', 'applies', 'holds', 'gap'}, in 50-digit mpmath
    with a tolerance of 10⁻⁴⁰ relative to the gap's terms (exact zeros stay within it)."""
    syms, gap, terms, cond = _compiled(step)
    with mpmath.workdps(DPS):
        args = [mpmath.mpf(sp.Rational(point[x]).p) / sp.Rational(point[x]).q for x in syms]
        if cond is not None and not _applies(step, {x: sp.Rational(point[x]) for x in syms}, cond, args):
            return {"step": step.name, "applies": False, "holds": None, "gap": None}
        value = gap(*args)
        tol = (sum(abs(t(*args)) for t in terms) + 1) * mpmath.mpf(10) ** (-(DPS - 10))
        holds = abs(value) <= tol if step.identity else value >= -tol
    return {"step": step.name, "applies": True, "holds": bool(holds), "gap": float(value)}
