"""What wen2023's Figure 1 claims share: the caption's checkable statements about the toy for a
reading of them, the hyper-parameters of the three runs, and the runs themselves built from a
reading's labels, targets and per-example split (`wen2023.figure1` as printed, `.corrected`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from hypothesis import strategies as st

from flatcheck.problems import Problem, toy_starts, wen_toy
from flatcheck.verify import Budget, Claim, Constant, Evidence, constant
from flatcheck.verify.reproduction import RunSpec, make_reproduction_check

# The caption's bounds on the toy's Hessian eigenvalues over [0, 1]²: F₀ ≥ 8 > 6 ≥ F₁.
CONSTANTS = (
    Constant("f0_floor", 8.0, "8 in F₀(x) ≥ 8 on [0, 1]²", "larger", text="the top eigenvalue's floor"),
    Constant("f1_ceiling", 6.0, "6 in 6 ≥ F₁(x) on [0, 1]²", "smaller", text="the bottom eigenvalue's ceiling"),
)


def toy_caption_facts(
    eigenvalues: tuple[sp.Expr, sp.Expr],
    split: tuple[sp.Expr, sp.Expr],
    eig_label: str,
    split_label: str,
    floor: float = 8,
    ceiling: float = 6,
) -> dict[str, bool]:
    """The Figure 1 caption's checkable statements about the toy, for given readings of the non-zero
    Hessian eigenvalues on Γ and of the per-example split (the caption's or the corrected ones)."""
    prob = wen_toy()
    x0, x1, y0, y1 = prob.symbols
    f0, f1 = prob.known["F"]
    on_gamma = {y0: 0, y1: 0}
    eig = prob.hess_expr.subs(on_gamma).eigenvals()
    nonzero = sorted((sp.expand(e) for e in eig if sp.expand(e) != 0), key=sp.default_sort_key)
    corners = [f1.subs({x0: a, x1: b}) for a in (0, 1) for b in (0, 1)]  # F₁ is convex: max at a vertex
    return {
        "zero-loss manifold {y = 0}": sp.expand(prob.expr.subs(on_gamma)) == 0,
        f"Hessian eigenvalues on Γ are {eig_label}": nonzero
        == sorted(map(sp.expand, eigenvalues), key=sp.default_sort_key),
        # F₀ − x₀² − 6x₁² is a number: F₀'s minimum over [0, 1]² (at the origin).
        "F₀ ≥ 8 > 6 ≥ F₁ on [0, 1]²": sp.expand(f0 - x0**2 - 6 * x1**2).is_number
        and sp.expand(f0 - x0**2 - 6 * x1**2) >= floor > ceiling >= max(corners),
        f"split {split_label} sums to a multiple of L": sp.simplify(sum(split) / prob.expr).is_number,
    }


# The caption gives no hyper-parameters; these are flatcheck's, shared by wen2023.figure1 and its
# corrected reading: kind -> (hyper-parameters, steps by profile quick/default/thorough).
# SAM η = 1/40, ρ = 3/10 keeps ηλ₁ ≤ 3/4 on [0, 1]².
FIGURE1_RUNS: dict[str, tuple[dict[str, float], tuple[int, int, int]]] = {
    "sam": ({"lr": 0.025, "rho": 0.3}, (800, 1500, 3000)),
    "ascent_gd": ({"lr": 0.01, "rho": 0.2}, (1000, 1500, 3000)),
    "sam_stochastic": ({"lr": 0.012, "rho": 0.3}, (600, 1200, 2400)),
}


# The minimizer of Tr∇²L = 2(F₀ + F₁) on Γ, where run (3) must end in either reading.
TRACE_ARGMIN = (0.8, 1 / 7, 0.0, 0.0)


def figure1_specs(
    sam_label: str,
    ascent_label: str,
    ascent_target: tuple[float, ...],
    stochastic_label: str,
    stochastic_problem: Callable[[], Problem],
) -> list[RunSpec]:
    """Runs (1) full-batch SAM → argmin λ₁ (0, 0), (2) GD on L^asc → the reading's target, (3)
    stochastic SAM on the reading's split → argmin trace (4/5, 1/7)."""
    return [
        RunSpec(sam_label, "sam", wen_toy, *FIGURE1_RUNS["sam"], (0.0, 0.0, 0.0, 0.0)),
        RunSpec(ascent_label, "ascent_gd", wen_toy, *FIGURE1_RUNS["ascent_gd"], ascent_target),
        RunSpec(stochastic_label, "sam_stochastic", stochastic_problem, *FIGURE1_RUNS["sam_stochastic"], TRACE_ARGMIN),
    ]


def instances(budget: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"x_init": toy_starts()})


def describe(inst: dict[str, Any]) -> dict[str, Any]:
    return {"problem": "wen2023_toy", "x_init": [str(v) for v in inst["x_init"]]}


def caption_check(specs: list[RunSpec], symbolic: Callable[[float, float], dict[str, bool]]):
    """The reproduction check with the caption's statements read at the budget's bounds (`CONSTANTS`)."""

    def check(inst: dict, impl: Any, budget: Budget) -> Evidence:
        floor, ceiling = (constant(budget, CONSTANTS, k.name) for k in CONSTANTS)
        return make_reproduction_check(specs, lambda: symbolic(floor, ceiling))(inst, impl, budget)

    return check


def figure1_claim(
    *,
    id: str,
    ref: str,
    expected: tuple[str, str],
    statement: str,
    summary: str,
    faithful: tuple[str, str],
    specs: list[RunSpec],
    symbolic: Callable[[float, float], dict[str, bool]],
) -> Claim:
    """A reading of Figure 1: its symbolic statements and its three runs, from the toy's starts."""
    return Claim(
        id=id,
        paper="wen2023",
        ref=ref,
        kind="reproduction",
        expected=expected,
        statement=statement,
        summary=summary,
        faithful=faithful,
        instances=instances,
        check=caption_check(specs, symbolic),
        algorithm="sam",
        describe=describe,
        constants=CONSTANTS,
        # Each instance is three training runs of the figure (about 3 s in quick).
        max_examples=(1, 4, 40),
    )
