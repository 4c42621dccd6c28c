r"""The choice (21) of σ² in the proof of Theorem 2.2 (NSO paper), shared by its two claims: the
conclusion (`nso.theorem2_2_sigma`: the bound the proof gets at (21)) and the wording "(21)
minimizes (20)" (`nso.theorem2_2_sigma.wording`). The quotation and the steps are in
`theorem2_2_sigma.py`'s docstring."""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
from hypothesis import strategies as st

from flatcheck.problems.points import rationals
from flatcheck.symbolic.steps import Step, decide_symbolically, evaluate
from flatcheck.verify import Evidence

C, ALPHA, R, N, P, C1, C2, C3 = sp.symbols("C alpha r n p C1 C2 C3", positive=True)
BETA, DELTA, S2 = sp.symbols("beta delta s2", positive=True)  # β, δ, σ²


def sigma2_21() -> sp.Expr:
    return R / (1 - BETA) * sp.sqrt(C / (ALPHA * N))


def bound20(s2: sp.Expr) -> sp.Expr:
    sigma = sp.sqrt(s2)
    log_term = sp.sqrt(sp.log(C3 * N / DELTA))
    return (
        s2 * sp.sqrt(P) * C2 * log_term / (2 * BETA * sp.sqrt(N))
        + (1 - BETA) / BETA * s2 / 2 * ALPHA
        + (1 + BETA) / BETA * C1 * sigma**3
        + C * (R**2 / (2 * s2) + sp.log(1 / DELTA)) / (2 * BETA * (1 - BETA) * N)
    )


def xi(s2: sp.Expr) -> sp.Expr:
    return (
        C2 * sp.sqrt(2 * P * sp.log(C3 * N / DELTA)) / (2 * BETA * sp.sqrt(N)) * s2
        + (1 + 1 / BETA) * C1 * s2 ** sp.Rational(3, 2)
        + C / (2 * BETA * (1 - BETA) * N) * sp.log(1 / DELTA)
    )


def displayed(s2: sp.Expr) -> sp.Expr:
    return (
        sp.sqrt(C * ALPHA * R**2 / N) / BETA
        + xi(s2)
        - C1 * s2 ** sp.Rational(3, 2) * (1 + 1 / BETA)
        + ((1 + BETA) / BETA * C1 * s2 ** sp.Rational(3, 2))
    )


@lru_cache(maxsize=1)
def steps() -> tuple[Step, ...]:
    s2 = sigma2_21()
    sigma_terms = (1 - BETA) * ALPHA / (2 * BETA) * S2 + C * R**2 / (4 * BETA * (1 - BETA) * N) / S2
    eps = (1 - BETA) / BETA
    scaled = xi(s2) * N ** sp.Rational(3, 4) / sp.log(1 / DELTA)
    return (
        Step("(21) minimizes the sigma^2 terms of (20)", sp.diff(sigma_terms, S2).subs(S2, s2), identity=True),
        Step("(20) at (21) <= displayed bound", displayed(s2) - bound20(s2)),
        Step("1/beta = 1 + eps", 1 / BETA - (1 + eps), identity=True),
        Step("(1+beta)/beta = 1 + 1/beta", (1 + BETA) / BETA - (1 + 1 / BETA), identity=True),
        Step("xi n^(3/4)/log(1/delta) does not grow (1e12 vs 1e6)", scaled.subs(N, 10**6) - scaled.subs(N, 10**12)),
        Step("xi n^(3/4)/log(1/delta) does not grow (1e24 vs 1e12)", scaled.subs(N, 10**12) - scaled.subs(N, 10**24)),
    )


def derive() -> dict[str, str]:
    out = {s.name: f"{sp.factor(s.gap)}  [{decide_symbolically(s)}]" for s in steps()[:4]}
    out["argmin of the sigma^2 terms"] = str(
        sp.solve(sp.diff((1 - BETA) * ALPHA / (2 * BETA) * S2 + C * R**2 / (4 * BETA * (1 - BETA) * N) / S2, S2), S2)
    )
    return out


# The proof's "choose σ … to minimize": a description of (21), not a step the bound depends on.
WORDING = ("(21) minimizes the sigma^2 terms of (20)",)
PARTS = ("conclusion", "wording")


def make_check(part: str):
    """The check of one part: the conclusion (the bound at (21) and the order of ξ: steps (ii)–(iv))
    or the wording "(21) minimizes (20)" (step (i))."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, not {part!r}")

    def check(point: dict[sp.Symbol, sp.Rational], impl, budget) -> Evidence:
        results = [evaluate(s, point) for s in steps() if (s.name in WORDING) == (part == "wording")]
        failed = [r for r in results if r["holds"] is False]
        values = {"steps": results, "point": {str(k): str(v) for k, v in point.items()}}
        note = "; ".join(f"{r['step']} fails (gap {r['gap']:.6g})" for r in failed)
        return Evidence(not failed, values, margin=min(r["gap"] for r in results), note=note)

    return check


def describe(point: dict[sp.Symbol, sp.Rational]) -> dict[str, str]:
    return {str(k): str(v) for k, v in point.items()}


_pos = rationals(1, 16, (1, 2, 4))


@st.composite
def points(draw) -> dict[sp.Symbol, sp.Rational]:
    return {
        C: draw(_pos),
        ALPHA: draw(_pos),
        R: draw(_pos),
        N: sp.Integer(draw(st.integers(10, 10**6))),
        P: sp.Integer(draw(st.integers(1, 10**4))),
        C1: draw(_pos),
        C2: draw(_pos),
        C3: draw(_pos),
        BETA: draw(st.sampled_from([sp.Rational(1, 2), sp.Rational(3, 4), sp.Rational(9, 10), sp.Rational(99, 100)])),
        DELTA: draw(st.sampled_from([sp.Rational(1, 10), sp.Rational(1, 100), sp.Rational(1, 1000)])),
    }
