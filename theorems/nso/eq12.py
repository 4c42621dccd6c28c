r"""nso.eq12 — the second-order term of the Gaussian perturbation, eq. (12), proof of Lemma A.4.

    "The second-order term becomes equal to  E_U[Uᵀ∇²[ℓ(f_W(x), y)]U] = σ²Tr[∇²[ℓ(f_W(x), y)]]",  (12)
    with U ~ N(0, σ²Id) ("each parameter is perturbed by an independent noise drawn from N(0, σ²)").

Symbolic side: derive() computes the coefficient κ of E[UᵀHU] = κ·Tr H by exact Gaussian moments for
a symmetric 3×3 H of symbols (κ = σ²); the printed σ² must equal it. For each sampled H (rational
symmetric matrices of any signature, d ≤ 6), with σ a symbol, E[UᵀHU] − κTr(H) must simplify to 0.
Numeric side: Monte Carlo mean of UᵀHU over N(0, σ²I) draws (torch) with a normal interval at the
instance's error rate must contain σ²Tr(H).
"""

from __future__ import annotations

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.problems import PointInstance, log_uniform, quadratics
from flatcheck.problems.quadratic import to_tensor
from flatcheck.stats import mean_interval
from flatcheck.symbolic.gaussian import gaussian_expectation
from flatcheck.verify import Claim, Constant, Evidence, constant

SIGMA = sp.Symbol("sigma", positive=True)
CONSTANTS = (Constant("scale", 1.0, "σ²Tr H, ×1", "exact", text="E[UᵀHU] as stated"),)


def quadratic_form_mean(h: sp.Matrix) -> sp.Expr:
    u = sp.symbols(f"u1:{h.shape[0] + 1}", real=True)
    uv = sp.Matrix(u)
    return gaussian_expectation((uv.T * h * uv)[0], u, SIGMA**2 * sp.eye(h.shape[0]))


def derive() -> dict[str, sp.Expr]:
    """E[UᵀHU] for a generic symmetric 3×3 H as a multiple κ of Tr H (κ = σ², the rest 0)."""
    h = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"h{min(i, j)}{max(i, j)}"))
    mean = sp.expand(quadratic_form_mean(h))
    kappa = sp.simplify(mean.coeff(h[0, 0]))
    return {"coefficient": kappa, "rest": sp.simplify(mean - kappa * h.trace())}


def make_check(coefficient: sp.Expr):
    """The check of E[UᵀHU] = coefficient·Tr H (the paper: coefficient σ²)."""

    def check(inst: PointInstance, impl, budget) -> Evidence:
        h = inst.problem.known["A"]
        printed, derived = sp.nsimplify(constant(budget, CONSTANTS, "scale")) * coefficient, derive()
        if sp.simplify(printed - derived["coefficient"]) != 0 or derived["rest"] != 0:
            values = {"printed_coefficient": str(printed), "derived": {k: str(v) for k, v in derived.items()}}
            return Evidence(False, values, note=f"E[UᵀHU] = {derived['coefficient']}·Tr H, not {printed}·Tr H")
        predicted = derived["coefficient"] * h.trace()
        exact_gap = sp.simplify(quadratic_form_mean(h) - predicted)
        sigma = inst.scalars["sigma"]
        ht = to_tensor(h)
        gen = torch.Generator().manual_seed(budget.seed)
        u = sigma * torch.randn((budget.mc_samples, h.shape[0]), generator=gen, dtype=torch.float64)
        quad = torch.einsum("ni,ij,nj->n", u, ht, u)
        # The exact side and the Monte Carlo side share the error rate.
        mean, half = mean_interval(quad[:, None], budget.alpha)
        pred = float(predicted.subs(SIGMA, sigma))
        tol = float(half[0]) + 64 * torch.finfo(torch.float64).eps * float(quad.abs().mean())
        err = abs(float(mean[0]) - pred)
        holds = exact_gap == 0 and err <= tol
        values = {
            "sigma": sigma,
            "exact_difference": str(exact_gap),
            "mc_mean": float(mean[0]),
            "predicted": pred,
            "interval_halfwidth": tol,
            "draws": budget.mc_samples,
        }
        note = "" if holds else f"E[UᵀHU] − prediction = {exact_gap} (exact), MC error {err:.3g} > {tol:.3g}"
        return Evidence(holds, values, margin=(tol - err) / tol, note=note)

    return check


CLAIM = Claim(
    id="nso.eq12",
    paper="nso",
    ref="eq. (12), proof of Lemma A.4, Appendix A.1",
    kind="identity",
    statement=r"\mathbb E_{U\sim N(0,\sigma^2 I)}[U^\top H U]=\sigma^2\,\mathrm{Tr}(H)",
    summary="The mean of the Gaussian quadratic form is σ² times the trace.",
    faithful="exact",
    instances=lambda budget: st.builds(
        lambda q, s: PointInstance(q, [0] * q.d, scalars={"sigma": s}),
        quadratics(d=st.integers(1, 6), psd=False),
        log_uniform(-4, 2),
    ),
    check=make_check(SIGMA**2),
    derive=derive,
    describe=lambda inst: {"H": [[str(v) for v in r] for r in inst.problem.known["A"].tolist()], **inst.scalars},
    constants=CONSTANTS,
)
