r"""Theorem 4.5 of the NSO paper, shared by its three claims: the conclusion (`nso.theorem4_5`),
the wording of its condition "requires T ≤ d" (`nso.theorem4_5.wording`) and the steps of its
proof (`nso.theorem4_5.steps`). The statement, the construction and what each part checks are in
`theorem4_5.py`'s docstring."""

from __future__ import annotations

import math
from functools import lru_cache

import sympy as sp
import torch
from hypothesis import strategies as st
from hypothesis import target
from hypothesis.control import currently_in_test_context

from flatcheck.problems.nso_families import chain_construction
from flatcheck.problems.points import rationals
from flatcheck.symbolic.steps import Step, evaluate
from flatcheck.verify import Constant, Evidence, constant

C, G, ALPHA, D, SIGMA, K, T, S, Q, DIM = sp.symbols("C G alpha D sigma k T S Q dim", positive=True)
C32 = sp.Symbol("c32", positive=True)  # the 32 of (9), a declared constant

CONSTANTS = (Constant("c32", 32.0, "32 in D√(Cσ²/(32kT))", "smaller", text="the lower bound (9)"),)


def _pieces() -> list[sp.Expr]:
    x = sp.Symbol("x", positive=True)
    return [
        (C * ALPHA**2 / 4 + 0 * x, x),
        (-C * (x - ALPHA) ** 2 / 2 + C * ALPHA**2 / 4, x),
        (C * (x - 2 * ALPHA) ** 2 / 2, x),
        (sp.Integer(0) * x, x),
    ]


@lru_cache(maxsize=1)
def steps() -> tuple[Step, ...]:
    pieces = _pieces()
    x = pieces[0][1]
    out = []
    for (left, _), (right, _), at in zip(pieces, pieces[1:], (ALPHA, 3 * ALPHA / 2, 2 * ALPHA)):
        out.append(Step(f"h continuous at {at}", (left - right).subs(x, at), identity=True))
        out.append(Step(f"h' continuous at {at}", sp.diff(left - right, x).subs(x, at), identity=True))
    for i, (piece, _) in enumerate(pieces):
        out.append(Step(f"|h''| <= C on piece {i}", C - sp.Abs(sp.diff(piece, x, 2))))
    out.append(Step("G <= 1/C => grad f C-Lipschitz (1/G <= C)", C - 1 / G, condition=sp.Le(G, 1 / C)))
    out.append(
        Step(
            "F(W0) <= D^2 under (43)",
            D**2 - (D**2 / 2 + C * SIGMA**2 * Q / K),
            condition=sp.Le(Q, K * D**2 / (2 * C * SIGMA**2)),
        )
    )
    out.append(Step("coordinates e_0..e_T fit in d = dim when T <= d", DIM - (T + 1), condition=sp.Le(T, DIM)))
    out.append(
        Step(
            "Lemma B.2: (D^2/4) min{C, 1/(2 sum eta)} >= D sqrt(C sigma^2/(32kT))",
            D**2 / 4 * sp.Min(C, 1 / (2 * S)) - D * sp.sqrt(C * SIGMA**2 / (C32 * K * T)),
            condition=sp.Le(S, sp.sqrt(D**2 * K * T / (2 * SIGMA**2 * C))),
        )
    )
    return tuple(out)


def simulate(inst: dict, impl, c32: float = 32.0) -> dict[str, float]:
    c, d, sigma, k, steps_ = (float(inst[n]) for n in ("C", "D", "sigma", "k", "T"))
    steps_, k = int(steps_), int(k)
    limit = math.sqrt(d**2 * k * steps_ / (2 * sigma**2 * c))  # Lemma B.2: Σ η_i ≤ this
    lr = float(inst["c"]) * min(1 / c, limit / steps_)
    prob = chain_construction(c, [lr] * steps_, sigma, k)
    w0 = torch.zeros(1, prob.d, dtype=torch.float64)
    w0[0, 0] = d * math.sqrt(prob.g)
    hp = {"lr": lr, "k": k, "sigma": float(prob.alphas.min()) / 64}
    path = impl.run_many(prob, w0, hp, 0, steps_)
    g = prob.grad(path[0, 1:])
    least = float((g * g).sum(-1).min())
    bound = d * math.sqrt(c * sigma**2 / (c32 * k * steps_))
    return {"min_grad2": least, "bound_9": bound, "eta": lr, "G": prob.g, "sum_eta": lr * steps_, "limit": limit}


# Steps about how a condition is worded, not about the proof: "requires T ≤ d" (T + 1 coordinates)
# and "provided that G ≤ C⁻¹, ∇f is C-Lipschitz" (the e₀ term has curvature 1/G, so it takes
# G ≥ C⁻¹ — which Lemma B.2's G = max{C⁻¹, 2Σ_iη_i} satisfies).
WORDING = ("coordinates e_0..e_T fit in d = dim when T <= d", "G <= 1/C => grad f C-Lipschitz (1/G <= C)")
PARTS = ("conclusion", "wording", "steps")


def _point(inst: dict, c32: sp.Expr) -> dict[sp.Symbol, sp.Expr]:
    return {
        C32: c32,
        C: inst["C"],
        G: inst["G"],
        ALPHA: inst["alpha"],
        D: inst["D"],
        SIGMA: inst["sigma"],
        K: inst["k"],
        T: inst["T"],
        S: inst["S"],
        Q: inst["Q"],
        DIM: inst["dim"],
    }


def _steer(score: float) -> None:
    """Point hypothesis' search at instances with a higher score (a check may also run outside it)."""
    if currently_in_test_context():
        target(score, label="tightness")


def make_check(part: str):
    """The check of one part of Theorem 4.5: its conclusion (the lower bound (9) for NSO on the
    construction), the wording of its condition T ≤ d, or the steps of the proof."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, not {part!r}")

    def check(inst: dict, impl, budget) -> Evidence:
        c32 = constant(budget, CONSTANTS, "c32")
        if part == "conclusion":
            sim = simulate(inst, impl, c32)
            tol = 1e3 * 2.0**-52 * (sim["min_grad2"] + sim["bound_9"])
            holds = sim["min_grad2"] >= sim["bound_9"] - tol
            note = "" if holds else f"min_t ‖∇F(W_t)‖² = {sim['min_grad2']:.6g} < (9) = {sim['bound_9']:.6g}"
            margin = (sim["min_grad2"] - sim["bound_9"]) / max(sim["bound_9"], 1e-300)
            _steer(-margin)
            values = {"simulation": sim, "tightness": sim["bound_9"] / max(sim["min_grad2"], 1e-300)}
            return Evidence(holds, values, margin=margin, note=note)
        chosen = [s for s in steps() if (s.name in WORDING) == (part == "wording")]
        results = [evaluate(s, _point(inst, sp.nsimplify(c32))) for s in chosen]
        gaps = [r["gap"] for r in results if r["applies"]]
        if not gaps:
            return Evidence(None, out_of_scope="the condition of no step holds at this point")
        failed = [r for r in results if r["holds"] is False]
        note = "; ".join(f"{r['step']} fails (gap {r['gap']:.6g})" for r in failed)
        # Steer the search toward tight points: the gap relative to the size of the bound.
        _steer(-min(gaps) / (1 + abs(float(inst["D"]) * float(inst["sigma"]))))
        return Evidence(not failed, {"steps": results}, margin=min(gaps), note=note)

    return check


def describe(inst: dict) -> dict[str, str]:
    return {k: str(v) for k, v in inst.items()}


_pos = rationals(1, 16, (1, 2, 4))
SIGMAS = (sp.Rational(1, 4), sp.Integer(1), sp.Integer(4), sp.Integer(16), sp.Integer(64))


@st.composite
def instances(draw) -> dict:
    inst = {
        "C": draw(_pos),
        "G": draw(_pos),
        "alpha": draw(_pos),
        "D": draw(_pos),
        "k": sp.Integer(draw(st.sampled_from([1, 2, 4]))),
        "T": sp.Integer(draw(st.integers(1, 16))),
    }
    # Half the draws take the worst σ for the drawn C, D, k, T (an inner optimisation; σ is any
    # noise level): (9) grows like σ while the construction's gradient does not, and past
    # σ = D√(2CkT) the conclusion fails. The power of two ≥ 8·D√(2CkT) (and ≥ the grid's largest):
    # every such draw is a counterexample (min_t ‖∇F(W_t)‖²/(9) ≤ 0.35 over C, D ∈ {1/16, 1, 16},
    # k ∈ {1, 4}, T ∈ {1, 4, 16}, c ∈ {1, ⅛}), so a 4-example quick run finds it on every seed.
    # `not`: the first example hypothesis generates (every choice its simplest) is then a worst σ.
    if not draw(st.booleans()):
        edge = 8 * inst["D"] * sp.sqrt(2 * inst["C"] * inst["k"] * inst["T"])
        inst["sigma"] = max(SIGMAS[-1], sp.Integer(2) ** math.ceil(math.log2(float(edge))))
    else:
        inst["sigma"] = draw(st.sampled_from(SIGMAS))
    # Σ_iη_i (only Lemma B.2's last chain uses it, and its gap decreases in it): the worst admissible
    # value, the largest dyadic rational within the condition Σ_iη_i ≤ √(D²kT/(2σ²C)).
    s_max = sp.sqrt(inst["D"] ** 2 * inst["k"] * inst["T"] / (2 * inst["sigma"] ** 2 * inst["C"]))
    inst["S"] = sp.Rational(sp.floor(s_max * 2**30), 2**30)
    return inst | {
        "Q": draw(_pos),
        "dim": sp.Integer(draw(st.integers(1, 17))),
        "c": draw(st.sampled_from([sp.Integer(1), sp.Rational(1, 2), sp.Rational(1, 8)])),
    }
