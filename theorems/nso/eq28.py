r"""nso.eq28 — the variance of the two-point gradient, eq. (28), proof of Lemma 4.4 (App. B.1).

    "Next, we deal with the variance of the two-point stochastic gradient. We will show that
         E_U[‖½(∇f(W + U) + ∇f(W − U)) − ∇F(W)‖²] ≤ C²H(P)."   (28)
    (∇f C-Lipschitz, Assumption 4.2; P symmetric at zero; H(P) = E‖U‖².)

Families with exact constants (`flatcheck.problems.nso_families`): quadratics (C = λ_max, any of
the four symmetric P) and separable softplus losses (C = max a_j/4 + λ_j, Gaussian P, ∇F by
Gauss–Hermite quadrature). The two-point gradient is read back from one NSO step with k = 1 and
the exact gradient oracle: ½(∇f(W+U) + ∇f(W−U)) = (W − W⁺)/η. The check is against the
implementation; the left side is a Monte Carlo mean with a normal interval at the instance's
error rate; falsified when its lower end exceeds C²H(P) beyond round-off and quadrature error.
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.impl.nso_readback import readback_error, step_gradients, unsupported_noise
from flatcheck.problems.nso_families import POSITIVE_SIGMA_U, NSOInstance, nso_instances
from flatcheck.stats import mean_interval
from flatcheck.verify import Claim, Constant, Evidence, constant

QUADRATURE_ERROR = 1e-9  # bound on the Gauss–Hermite error of ∇F for the softplus family
CONSTANTS = (Constant("c", 1.0, "1 in C²H(P)", "smaller", text="the bound on E‖g − ∇F‖²"),)


def check(inst: NSOInstance, impl, budget) -> Evidence:
    if why := unsupported_noise(impl, inst):
        return Evidence(None, out_of_scope=why)
    w = inst.w0_tensor()
    lr = 1.0 / inst.C
    n = budget.draws(impl, cap=1 << 14)
    g = step_gradients(impl, inst.problem, w, inst.hp(lr, oracle_noise=False), n, budget.seed)
    q = ((g - inst.grad_F(w)) ** 2).sum(-1)
    mean, half = mean_interval(q[:, None], budget.alpha)
    rhs = constant(budget, CONSTANTS, "c") * inst.C**2 * inst.H
    e = readback_error(w, lr, g) + QUADRATURE_ERROR * (1 + float(w.abs().max()))
    tol = 2 * e * (float(mean[0]) + rhs) ** 0.5 + e * e
    ev = Evidence.tight_bound(
        float(mean[0] - half[0]),
        rhs,
        tol,
        mean=float(mean[0]),
        interval_halfwidth=float(half[0]),
        C=inst.C,
        H_P=inst.H,
        draws=n,
        ratio=float(mean[0]) / rhs if rhs > 0 else None,
    )
    ev.margin = ev.values["slack"] / max(rhs, tol)  # relative slack: how tight the bound is
    if not ev.holds:
        ev.note = f"E‖two-point gradient − ∇F‖² ≥ {float(mean[0] - half[0]):.6g} > C²H(P) = {rhs:.6g}"
    return ev


CLAIM = Claim(
    id="nso.eq28",
    paper="nso",
    ref="eq. (28), proof of Lemma 4.4, Appendix B.1",
    kind="bound",
    statement=r"\mathbb E_U\big\|\tfrac12(\nabla f(W+U)+\nabla f(W-U))-\nabla F(W)\big\|^2\le C^2H(\mathcal P)",
    summary="The two-point gradient's variance is at most C²E‖U‖².",
    faithful=(
        "restricted",
        "quadratics and separable softplus losses only: the families whose Lipschitz constant C is exact",
    ),
    instances=lambda budget: nso_instances(noiseless=st.just(True), k=st.just(1), sigma_u=POSITIVE_SIGMA_U),
    check=check,
    algorithm="nso",
    describe=NSOInstance.describe,
    constants=CONSTANTS,
)
