r"""nso.theorem4_5 — Theorem 4.5, eqs. (8)-(9), §4 (proof: Lemma B.2, Appendix B.2).

    "f(W) = (1/2G)⟨W, e₀⟩² + Σ_{i=0}^{T−1} h_i(⟨W, e_{i+1}⟩),   (8)
     h_i(x) = Cα_i²/4 (|x| ≤ α_i); −C(|x|−α_i)²/2 + Cα_i²/4 (α_i ≤ |x| ≤ 3α_i/2);
              C(|x|−2α_i)²/2 (3α_i/2 ≤ |x| ≤ 2α_i); 0 (2α_i ≤ |x|).
     One can verify that for each piece above, ∇h_i is C-Lipschitz. As a result, provided that
     G ≤ C^{−1}, ∇f is C-Lipschitz …"
    "Theorem 4.5. Let the learning rates η₀, …, η_{T−1} be at most C^{−1}. Let D > 0 be a fixed
     value. When they either satisfy Σ_i η_i ≲ √(kT), or η_i = η < C^{−1} for any epoch i, then for
     the above construction, min_{1≤t≤T} E[‖∇F(W_t)‖²] ≥ D√(Cσ²/(32k·T)).   (9)
     We remark that the above construction requires T ≤ d."
    Lemma B.2 (the first case): α_i = 2η_iσ/√k, W₀ = D√G·e₀, G = max{C^{−1}, 2Σ_iη_i},
    Σ_i η_i ≤ √(D²kT/(2σ²C)), oracle noise |⟨ξ_t, e_{t+1}⟩| ≤ σ/√k along e_{t+1} only.

Steps (`flatcheck.symbolic.steps`, 50-digit evaluation at sampled rationals): h_i and h_i′ are
continuous at α, 3α/2, 2α and |h_i″| ≤ C on every piece (∇h_i C-Lipschitz); "G ≤ C^{−1} ⇒ ∇f is
C-Lipschitz" (the e₀ term has curvature 1/G); F(W₀) = D²/2 + Cσ²Σ_iη_i²/k ≤ D² under (43);
the construction's coordinates e₀ … e_T fit in d dimensions when T ≤ d; the last chain of Lemma
B.2, (D²/4)·min{C, 1/(2Σ_iη_i)} ≥ D√(Cσ²/(32kT)) under its step-size condition.
Simulation: the implementation's NSO runs on construction (8) (`ChainConstruction`) from
W₀ = D√G·e₀ with constant η satisfying Lemma B.2's condition, the exact gradient oracle (ξ = 0
meets |ξ| ≤ σ/√k) and Gaussian P of standard deviation min α_i/64 (so |U| < α_i/2, the role of the
truncation, with probability 1 − 10⁻⁸⁰⁰); min_t ‖∇F(W_t)‖² (F = f up to that negligible smoothing
on the flat pieces) must reach (9).
"""

from __future__ import annotations

import math
from functools import lru_cache

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.problems.nso_families import chain_construction
from flatcheck.problems.points import rationals
from flatcheck.symbolic.steps import Step, evaluate
from flatcheck.verify import Claim, Evidence

C, G, ALPHA, D, SIGMA, K, T, S, Q, DIM = sp.symbols("C G alpha D sigma k T S Q dim", positive=True)


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
            D**2 / 4 * sp.Min(C, 1 / (2 * S)) - D * sp.sqrt(C * SIGMA**2 / (32 * K * T)),
            condition=sp.Le(S, sp.sqrt(D**2 * K * T / (2 * SIGMA**2 * C))),
        )
    )
    return tuple(out)


def simulate(inst: dict, impl) -> dict[str, float]:
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
    bound = d * math.sqrt(c * sigma**2 / (32 * k * steps_))
    return {"min_grad2": least, "bound_9": bound, "eta": lr, "G": prob.g, "sum_eta": lr * steps_, "limit": limit}


def check(inst: dict, impl, budget) -> Evidence:
    point = {
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
    results = [evaluate(s, point) for s in steps()]
    sim = simulate(inst, impl)
    tol = 1e3 * 2.0**-52 * (sim["min_grad2"] + sim["bound_9"])
    sim_ok = sim["min_grad2"] >= sim["bound_9"] - tol
    failed = [r for r in results if r["holds"] is False]
    notes = [f"{r['step']} fails (gap {r['gap']:.6g})" for r in failed]
    if not sim_ok:
        notes.append(f"simulation: min_t ‖∇F(W_t)‖² = {sim['min_grad2']:.6g} < (9) = {sim['bound_9']:.6g}")
    values = {"steps": results, "simulation": sim}
    margin = (sim["min_grad2"] - sim["bound_9"]) / max(sim["bound_9"], 1e-300)
    return Evidence(not failed and sim_ok, values, margin=margin, note="; ".join(notes))


_pos = rationals(1, 16, (1, 2, 4))


@st.composite
def instances(draw) -> dict:
    c = draw(_pos)
    return {
        "C": c,
        "G": draw(_pos),
        "alpha": draw(_pos),
        "D": draw(_pos),
        "sigma": draw(st.sampled_from([sp.Rational(1, 4), 1, 4, 16, 64])),
        "k": sp.Integer(draw(st.sampled_from([1, 2, 4]))),
        "T": sp.Integer(draw(st.integers(1, 16))),
        "S": draw(_pos),
        "Q": draw(_pos),
        "dim": sp.Integer(draw(st.integers(1, 17))),
        "c": draw(st.sampled_from([sp.Integer(1), sp.Rational(1, 2), sp.Rational(1, 8)])),
    }


CLAIM = Claim(
    id="nso.theorem4_5",
    paper="nso",
    ref="Theorem 4.5, eqs. (8)-(9), §4; Lemma B.2, Appendix B.2",
    kind="rate",
    expected=(
        "falsified",
        "The construction (8) uses the T + 1 coordinates e₀, …, e_T, so it needs T + 1 ≤ d, not T ≤ d as remarked.",
    ),
    statement=r"\min_{1\le t\le T}\mathbb E\|\nabla F(W_t)\|^2\ge D\sqrt{\frac{C\sigma^2}{32kT}}"
    r"\ \text{for construction (8)}",
    summary="The lower-bound construction (8): its stated properties and the lower bound (9) for NSO.",
    instances=lambda budget: instances(),
    check=check,
    algorithm="nso",
    describe=lambda inst: {k: str(v) for k, v in inst.items()},
)
