r"""nso.lemma4_4 — Lemma 4.4, eq. (7), §4 (NSO paper).

    "In the setting of Theorem 4.3, for any i = 1, …, T, we have
         E[‖ξ_i‖²] ≤ σ²/k   and   E[‖δ_i‖²] ≤ C²H(P)/k,"   (7)
    δ_i = (1/2k)Σ_j (∇f(W_i + U_i^{(j)}) + ∇f(W_i − U_i^{(j)}) − ∇F(W_i))  [read: − 2∇F(W_i), as
          in (25), so that δ_i has mean zero as the text says],
    ξ_i = (1/2k)Σ_j (G_i^{(j)} − ∇f(W_i + U_i^{(j)}) − ∇f(W_i − U_i^{(j)})).

Families with exact C, σ² (size-1 mini-batches without replacement: E‖g − ∇f‖² = σ² exactly) and
H(P) = dσ_u² (`flatcheck.problems.nso_families`). One NSO step of the implementation from W with
k perturbations gives G = (W − W⁺)/η = ∇F(W) + δ + ξ. With the exact oracle (ξ = 0) the Monte Carlo
mean of ‖G − ∇F‖² estimates E‖δ‖²; with the noisy oracle it estimates E‖δ‖² + E‖ξ‖² (δ and ξ
are uncorrelated), so E‖ξ‖² is the difference. Each of the two bounds gets half of the
instance's error rate; a bound is falsified when the lower end of its interval exceeds it.
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.impl.nso_readback import readback_error, step_gradients, unsupported_noise
from flatcheck.problems.nso_families import POSITIVE_SIGMA_U, NSOInstance, nso_instances
from flatcheck.stats import mean_interval
from flatcheck.verify import Claim, Constant, Evidence, constant

QUADRATURE_ERROR = 1e-9
CONSTANTS = (
    Constant("c_delta", 1.0, "1 in C²H(P)/k", "smaller", text="the bound on E‖δ‖²"),
    Constant("c_xi", 1.0, "1 in σ²/k", "smaller", text="the bound on E‖ξ‖²"),
)


def check(inst: NSOInstance, impl, budget) -> Evidence:
    if why := unsupported_noise(impl, inst):
        return Evidence(None, out_of_scope=why)
    w = inst.w0_tensor()
    lr = 1.0 / inst.C
    n = budget.draws(impl, cap=1 << 13)
    grad_f = inst.grad_F(w)
    sq = {}
    for oracle_noise, seed in ((False, budget.seed), (True, budget.seed + 1)):
        g = step_gradients(impl, inst.problem, w, inst.hp(lr, oracle_noise), n, seed)
        mean, half = mean_interval(((g - grad_f) ** 2).sum(-1)[:, None], budget.alpha / 4)
        sq[oracle_noise] = (float(mean[0]), float(half[0]))
    e = readback_error(w, lr, g) + QUADRATURE_ERROR * (1 + float(w.abs().max()))
    delta, delta_half = sq[False]
    xi, xi_half = sq[True][0] - delta, sq[True][1] + delta_half
    bound_delta = constant(budget, CONSTANTS, "c_delta") * inst.C**2 * inst.H / inst.k
    bound_xi = constant(budget, CONSTANTS, "c_xi") * inst.sigma2 / inst.k
    tol = 2 * e * (sq[True][0] + bound_delta + bound_xi) ** 0.5 + e * e
    slack_delta = bound_delta - (delta - delta_half)
    slack_xi = bound_xi - (xi - xi_half)
    values = {
        "E_delta2": delta,
        "E_delta2_halfwidth": delta_half,
        "bound_delta": bound_delta,
        "E_xi2": xi,
        "E_xi2_halfwidth": xi_half,
        "bound_xi": bound_xi,
        "C": inst.C,
        "sigma2": inst.sigma2,
        "H_P": inst.H,
        "draws": n,
        "tolerance": tol,
        "tightness": max(delta / bound_delta if bound_delta > 0 else 0.0, xi / bound_xi if bound_xi > 0 else 0.0),
    }
    holds = slack_delta >= -tol and slack_xi >= -tol
    margin = min(slack_delta / max(bound_delta, tol), slack_xi / max(bound_xi, tol))
    note = ""
    if slack_delta < -tol:
        note = f"E‖δ‖² ≥ {delta - delta_half:.6g} > C²H(P)/k = {bound_delta:.6g}"
    elif slack_xi < -tol:
        note = f"E‖ξ‖² ≥ {xi - xi_half:.6g} > σ²/k = {bound_xi:.6g}"
    return Evidence(holds, values, margin=margin, note=note).steer()


CLAIM = Claim(
    id="nso.lemma4_4",
    paper="nso",
    ref="Lemma 4.4, eq. (7), §4 (proof: Appendix B.1)",
    kind="bound",
    statement=r"\mathbb E\|\xi_i\|^2\le\frac{\sigma^2}{k},\qquad\mathbb E\|\delta_i\|^2\le\frac{C^2H(\mathcal P)}{k}",
    summary="NSO's gradient noise and perturbation noise shrink as 1/k: σ²/k and C²H(P)/k.",
    faithful=(
        "restricted",
        "quadratics and separable softplus losses only: the families whose C, σ² and H(P) are exact",
    ),
    instances=lambda budget: nso_instances(noiseless=st.just(False), sigma_u=POSITIVE_SIGMA_U),
    check=check,
    algorithm="nso",
    describe=NSOInstance.describe,
    constants=CONSTANTS,
)
