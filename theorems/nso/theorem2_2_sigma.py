r"""nso.theorem2_2_sigma — the choice (21) of σ² and the bound it gives, proof of Theorem 2.2 (App. A.1).

    "Thus, we will now choose σ and β ∈ (0, 1) to minimize the term above [(20)]. In particular,
     we will set σ such that  σ² = r/(1−β)·√(C/(αn)).   (21)
     By plugging in this setting to equation (20) and re-arranging terms, the gap between L(W) and
     L̂(W)/β becomes:
         L(W) − L̂(W)/β ≤ (1/β)√(Cαr²/n) + C₂√(2p log(C₃n/δ))/(2β√n)·σ² + ((1+β)/β)C₁σ³
                          + C/(2β(1−β)n)·log(1/δ).
     Let β be a fixed value close to 1 … and let ε = (1−β)/β. We get L(W) ≤ (1+ε)L̂(W) +
     (1+ε)√(Cαr²/n) + ξ, ξ = C₂√(2p log(C₃n/δ))/(2β√n)·σ² + (1 + 1/β)C₁σ³ + C/(2β(1−β)n)·log(1/δ).
     Notice that ξ is of order O(n^{−3/4} + n^{−3/4} + log(δ^{−1})n^{−1}) ≤ O(log(δ^{−1})n^{−3/4})."
    where (20) is  σ²√p·C₂√(log(C₃n/δ))/(2β√n) + ((1−β)/β)(σ²/2)α + ((1+β)/β)C₁σ³
                   + C(r²/(2σ²) + log(1/δ))/(2β(1−β)n).

Steps (`flatcheck.symbolic.steps`; all symbols positive, 0 < β < 1, δ < 1, C₃n/δ > 1):
(i) (21) minimizes the σ²-terms of (20) — the proof's "choose σ … to minimize": the derivative
    of (1−β)α/(2β)·σ² + Cr²/(4β(1−β)n)/σ² at (21) must vanish;
(ii) (20) at (21) ≤ the displayed bound;  (iii) 1/β = 1 + ε and (1+β)/β = 1 + 1/β;
(iv) ξ·n^{3/4}/log(1/δ) stays bounded as n → ∞ (checked as a sympy limit in `derive` and by its
     value at n = 10^{6}, 10^{12}, 10^{24}: it must not grow).
Symbolic side: each gap simplified; numeric side: each step evaluated in 50-digit mpmath at
sampled rationals.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
from hypothesis import strategies as st

from flatcheck.problems.points import rationals
from flatcheck.symbolic.steps import Step, decide_symbolically, evaluate
from flatcheck.verify import Claim, Evidence

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


def check(point: dict[sp.Symbol, sp.Rational], impl, budget) -> Evidence:
    results = [evaluate(s, point) for s in steps()]
    failed = [r for r in results if r["holds"] is False]
    values = {"steps": results, "point": {str(k): str(v) for k, v in point.items()}}
    note = "; ".join(f"{r['step']} fails (gap {r['gap']:.6g})" for r in failed)
    return Evidence(not failed, values, margin=min(r["gap"] for r in results), note=note)


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


CLAIM = Claim(
    id="nso.theorem2_2_sigma",
    paper="nso",
    ref="eq. (21) and the bound after it, proof of Theorem 2.2, Appendix A.1.1",
    kind="proof-step",
    expected=(
        "falsified",
        "(21)'s σ² = r/(1−β)·√(C/(αn)) does not minimize the σ² terms of (20); their minimizer is σ² = "
        "r/(1−β)·√(C/(2αn)).",
    ),
    statement=r"\sigma^2=\frac{r}{1-\beta}\sqrt{\frac{C}{\alpha n}}\ \text{minimizes (20)};\ "
    r"L(W)-\tfrac1\beta\hat L(W)\le\tfrac1\beta\sqrt{\tfrac{C\alpha r^2}{n}}+\xi,\ \xi=O(n^{-3/4}\log\delta^{-1})",
    summary="The σ² of (21) minimizes the PAC-Bayes bound (20) and turns it into the bound of Theorem 2.2.",
    instances=lambda budget: points(),
    check=check,
    derive=derive,
    describe=lambda point: {str(k): str(v) for k, v in point.items()},
)
