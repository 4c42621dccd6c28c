r"""wen2023.lemma30_32 — distance to Φ and the gradient near Γ, Lemmas 30 and 32, App. D.2 (from [2]).

    "Lemma 30 For x ∈ K^h, we have
         ‖x − Φ(x)‖ ≤ ∫₀^∞ ‖dφ(x, t)/dt‖ ≤ √(2(L(x) − L(Φ(x)))/μ) ≤ ‖∇L(x)‖/μ."
    "Lemma 32 At any point x ∈ K^h, we have
         ‖∇L(x) − ∇²L(Φ(x))(x − Φ(x))‖ ≤ (ν/2)‖x − Φ(x)‖²,
         |‖∇L(x)‖/‖∇²L(Φ(x))(x − Φ(x))‖ − 1| ≤ (2ν/μ)‖x − Φ(x)‖,  […]"
    (μ: L is μ-PL on K^r and λ_M(∇²L) ≥ μ there (Lemma 27); ν = sup_{K^r} ‖∇³L‖.)

The constants are infima/suprema over the neighbourhood K^r, which a sampled estimate could only
bound from one side; flatcheck therefore checks the lemmas where they are exact: PSD quadratics
L = ½xᵀAx of rank M (Γ = ker A, Assumption 1). There Φ(x) = P_{ker A}x, the largest admissible
μ is λ_M(A) (‖Ax‖² ≥ 2λ_M L(x) − and λ_M is the smallest non-zero eigenvalue), ν = 0, and the chain of
Lemma 30 is tight along v_M (all four terms equal), so a wrong constant is caught. The path length
∫‖Ae^{−tA}x‖dt is computed by 30-digit mpmath quadrature in the eigenbasis (exact rational A =
H diag(λ) H). Every term and every comparison is computed at 30 digits, so ties within 10^{-20}
relative (ten digits of headroom) plus the quadrature's own error estimate count as holding —
the chain is an exact tie on quadratics of rank 1. Lemma 32's third line (an O(·) with
unstated constant) is not encoded; on quadratics its left side vanishes.
"""

from __future__ import annotations

import mpmath
import sympy as sp
from hypothesis import strategies as st

from flatcheck.problems import points, quadratic, rationals
from flatcheck.verify import Claim, Constant, Evidence, constant

DPS = 30
# Digits of DPS that round-off may eat in the few operations after each term is formed.
HEADROOM = 10
CONSTANTS = (Constant("c_grad", 1.0, "1 in ‖∇L(x)‖/μ", "smaller", text="last link of Lemma 30's chain"),)


@st.composite
def instances(draw) -> dict:
    d = draw(st.integers(2, 4))
    eig = draw(st.lists(rationals(0, 16, (1, 2, 4)), min_size=d, max_size=d))
    eig[0] = sp.Integer(0)  # rank M < D: a manifold of minimizers
    if all(e == 0 for e in eig):
        eig[-1] = sp.Integer(1)
    u = draw(st.lists(rationals(-4, 4, (1, 2)), min_size=d, max_size=d))
    return {"problem": quadratic(eig, u), "x": draw(points(d, -4, 4))}


def terms(inst: dict) -> dict[str, mpmath.mpf]:
    prob = inst["problem"]
    lam, h = prob.known["eigenvalues"], prob.known["eigenvectors"]
    c = list(h.T * sp.Matrix(inst["x"]))  # coordinates in the eigenbasis (H is orthogonal and symmetric)
    live = [(sp.Rational(l_), sp.Rational(ci)) for l_, ci in zip(lam, c) if l_ != 0]
    mu = min(l_ for l_, _ in live)
    with mpmath.workdps(DPS):
        lc = [(mpmath.mpf(l_.p) / l_.q, mpmath.mpf(ci.p) / ci.q) for l_, ci in live]
        speed = lambda t: mpmath.sqrt(sum((l_ * ci) ** 2 * mpmath.exp(-2 * l_ * t) for l_, ci in lc))  # noqa: E731
        return {
            "dist_x_Phi": mpmath.sqrt(sum(ci**2 for _, ci in lc)),
            **dict(
                zip(
                    ("path_length", "quad_error"),
                    mpmath.quad(speed, [0, 1 / max(l_ for l_, _ in lc), mpmath.inf], error=True),
                )
            ),
            "sqrt_2L_over_mu": mpmath.sqrt(sum(l_ * ci**2 for l_, ci in lc) / (mpmath.mpf(mu.p) / mu.q)),
            "grad_norm": speed(0),
            "mu": mpmath.mpf(mu.p) / mu.q,
        }


def make_check(coefficient: float):
    """Lemma 30's chain with last term coefficient·‖∇L‖/μ (the lemma: 1), Lemma 32 with ν = 0."""

    def check(inst: dict, impl, budget) -> Evidence:
        with mpmath.workdps(DPS):
            t = terms(inst)
            last = constant(budget, {"c_grad": coefficient}, "c_grad") * t["grad_norm"] / t["mu"]
            chain = [t["dist_x_Phi"], t["path_length"], t["sqrt_2L_over_mu"], last]
            tol = mpmath.mpf(10) ** (HEADROOM - DPS) * (1 + last) + t["quad_error"]
            slacks = [b - a for a, b in zip(chain, chain[1:])]
            worst = min(slacks)
        values = {
            "x_minus_Phi": float(chain[0]),
            "path_length": float(chain[1]),
            "sqrt_2(L-L*)/mu": float(chain[2]),
            "grad_norm_over_mu": float(chain[3]),
            "mu": float(t["mu"]),
            # Lemma 32 on a quadratic: ∇L(x) = A x = ∇²L(Φ)(x − Φ) exactly (AΦ = 0), ν = 0.
            "lemma32_residual": 0.0,
            "tolerance": float(tol),
            # The tightest link of the chain (lhs/rhs, 1 tight): what the search is steered toward.
            "tightness": max((float(a / b) if b > 0 else 0.0) for a, b in zip(chain, chain[1:])),
        }
        holds = bool(worst >= -tol)
        names = ["‖x−Φ‖ ≤ ∫‖φ'‖", "∫‖φ'‖ ≤ √(2(L−L*)/μ)", "√(2(L−L*)/μ) ≤ ‖∇L‖/μ"]
        note = "" if holds else "violated: " + ", ".join(n for n, s in zip(names, slacks) if s < -tol)
        # x ∈ Γ makes every term 0: a trivial instance, never the representative one.
        margin = float(worst / tol) if worst < 0 else (float(worst / (1 + last)) if last > 0 else 1.0)
        return Evidence(holds, values, margin=margin, note=note).steer()

    return check


CLAIM = Claim(
    id="wen2023.lemma30_32",
    paper="wen2023",
    ref="Lemmas 30 and 32, App. D.2 (from Arora et al. [2])",
    kind="bound",
    statement=r"\|x-\Phi(x)\|\le\int_0^\infty\|\tfrac{d\phi}{dt}\|\le\sqrt{2(L(x)-L(\Phi(x)))/\mu}"
    r"\le\|\nabla L(x)\|/\mu;\ "
    r"\|\nabla L(x)-\nabla^2L(\Phi(x))(x-\Phi(x))\|\le\tfrac\nu2\|x-\Phi(x)\|^2",
    summary="Distance to Φ is bounded by the flow length, √(2L/μ) and ‖∇L‖/μ; ∇L ≈ ∇²L(Φ)(x−Φ) (exact on quadratics).",
    faithful=(
        "restricted",
        "quadratics of rank M only: the family where Φ, the largest μ and ν = 0 are exact and Lemma 30's chain is "
        "tight; Lemma 32's O(·) line not encoded",
    ),
    instances=lambda budget: instances(),
    check=make_check(1.0),
    describe=lambda inst: {"problem": inst["problem"].describe(), "x": [str(v) for v in inst["x"]]},
    constants=CONSTANTS,
)
