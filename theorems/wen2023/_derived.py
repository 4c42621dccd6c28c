"""What the wen2023 expansions' derive() functions share: the second-order Taylor coefficient of
L(x + ρv) − L(x), and the evidence of a printed coefficient that differs from the derived one."""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from flatcheck.verify import Evidence


@lru_cache(maxsize=1)
def taylor_coefficients() -> tuple[sp.Expr, sp.Expr]:
    """(c₁, c₂) with L(x + ρv) − L(x) = c₁ρ·L′(x)v + c₂ρ²·L″(x)v² + O(ρ³), from a generic quintic in
    one variable: (1, ½)."""
    x, v, rho = sp.symbols("x v rho", real=True)
    f = sum(c * x**k for k, c in enumerate(sp.symbols("c0:6")))
    gap = sp.expand(f.subs(x, x + rho * v) - f)
    return tuple(sp.simplify(gap.coeff(rho, k) / (v**k * sp.diff(f, x, k))) for k in (1, 2))


def mismatch(printed: sp.Expr, derived: sp.Expr, what: str) -> Evidence | None:
    """A falsifying Evidence when the printed coefficient is not the derived one, else None."""
    if sp.simplify(sp.nsimplify(printed) - derived) == 0:
        return None
    values = {"printed_coefficient": str(printed), "derived_coefficient": str(derived)}
    return Evidence(False, values, note=f"{what}: printed {printed}, derived {derived}")
