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
from flatcheck.verify import Constant, Evidence, constant

C, ALPHA, R, N, P, C1, C2, C3 = sp.symbols("C alpha r n p C1 C2 C3", positive=True)
BETA, DELTA, S2 = sp.symbols("beta delta s2", positive=True)  # β, δ, σ²


CONSTANTS = (
    Constant("lead", 1.0, "1 in (1/β)√(Cαr²/n)", "smaller", text="the bound's leading term"),
    Constant("xi_order", 0.75, "¾ in ξ = O(n^{−3/4}log δ⁻¹)", "larger", mutation="exponent", step=0.25, text="ξ"),
)
WORDING_CONSTANTS = (Constant("sigma2_scale", 1.0, "1 in (21), ×1", "exact", text="the σ² chosen by (21)"),)


def sigma2_21(scale: sp.Expr = sp.Integer(1)) -> sp.Expr:
    return scale * R / (1 - BETA) * sp.sqrt(C / (ALPHA * N))


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


def displayed(s2: sp.Expr, lead: sp.Expr = sp.Integer(1)) -> sp.Expr:
    return (
        lead * sp.sqrt(C * ALPHA * R**2 / N) / BETA
        + xi(s2)
        - C1 * s2 ** sp.Rational(3, 2) * (1 + 1 / BETA)
        + ((1 + BETA) / BETA * C1 * s2 ** sp.Rational(3, 2))
    )


@lru_cache(maxsize=8)
def steps(
    lead: sp.Expr = sp.Integer(1), xi_order: sp.Expr = sp.Rational(3, 4), scale: sp.Expr = sp.Integer(1)
) -> tuple[Step, ...]:
    """The steps, with the declared constants: the leading term's factor `lead`, ξ's order
    `xi_order`, and the factor `scale` of (21) (as printed 1, ¾, 1)."""
    s2 = sigma2_21(scale)
    sigma_terms = (1 - BETA) * ALPHA / (2 * BETA) * S2 + C * R**2 / (4 * BETA * (1 - BETA) * N) / S2
    eps = (1 - BETA) / BETA
    scaled = xi(s2) * N**xi_order / sp.log(1 / DELTA)
    return (
        Step("(21) minimizes the sigma^2 terms of (20)", sp.diff(sigma_terms, S2).subs(S2, s2), identity=True),
        Step("(20) at (21) <= displayed bound", displayed(s2, lead) - bound20(s2)),
        Step("1/beta = 1 + eps", 1 / BETA - (1 + eps), identity=True),
        Step("(1+beta)/beta = 1 + 1/beta", (1 + BETA) / BETA - (1 + 1 / BETA), identity=True),
        Step("xi n^(3/4)/log(1/delta) does not grow (1e12 vs 1e6)", scaled.subs(N, 10**6) - scaled.subs(N, 10**12)),
        Step("xi n^(3/4)/log(1/delta) does not grow (1e24 vs 1e12)", scaled.subs(N, 10**12) - scaled.subs(N, 10**24)),
    )


def derive() -> dict[str, sp.Expr | list[sp.Expr]]:
    # Each step's gap as a sympy expression (laid out in 2-D by the report), its symbolic decision in the key.
    out: dict[str, sp.Expr | list[sp.Expr]] = {
        f"{s.name} [decided: {decide_symbolically(s)}]": sp.factor(s.gap) for s in steps()[:4]
    }
    out["argmin of the sigma^2 terms"] = sp.solve(
        sp.diff((1 - BETA) * ALPHA / (2 * BETA) * S2 + C * R**2 / (4 * BETA * (1 - BETA) * N) / S2, S2), S2
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
        if part == "wording":
            chosen = steps(scale=sp.nsimplify(constant(budget, WORDING_CONSTANTS, "sigma2_scale")))
        else:
            lead, order = (sp.nsimplify(constant(budget, CONSTANTS, k)) for k in ("lead", "xi_order"))
            chosen = steps(lead, order)
        results = [evaluate(s, point) for s in chosen if (s.name in WORDING) == (part == "wording")]
        failed = [r for r in results if r["holds"] is False]
        values = {"steps": results, "point": {str(k): str(v) for k, v in point.items()}}
        if part == "conclusion":
            # (20) at (21) over the displayed bound (1 tight): what the search is steered toward.
            s2 = sigma2_21()
            values["tightness"] = float(sp.N((bound20(s2) / displayed(s2, lead)).subs(point), 30))
        note = "; ".join(f"{r['step']} fails (gap {r['gap']:.6g})" for r in failed)
        return Evidence(not failed, values, margin=min(r["gap"] for r in results), note=note).steer()

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
