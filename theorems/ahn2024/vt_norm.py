r"""ahn2024.vt_norm — the perturbation is bounded, Appendix B (proof of Theorem 1).

    "Next, we show that for v_t defined as in Algorithm 1, i.e., v_t := Proj⊥_{∇f(x_t)} ∇f(x_t + ρg_t),
     we have ‖v_t‖ ≤ βρ at each step t."   (f has β-Lipschitz gradients, Theorem 1.)

The proof uses only the Lipschitz constant of ∇f on the segment from x_t to x_t + ρg_t, so β is
a certified bound of ‖∇²f‖ on the ball B(x_t, ρ) (exact for quadratics). Checked on every draw of
the implementation's perturbed step; a tie within round-off counts as holding.
No symbolic part: ‖v_t‖ ≤ βρ is an inequality between values at the instance; nothing to derive.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from flatcheck.impl.rsp_perturbations import perturbations
from flatcheck.problems import PointInstance, log_uniform, point_instances, quadratics, smooth_problems
from flatcheck.verify import Claim, Constant, Evidence, constant

CONSTANTS = (Constant("c", 1.0, "1 in βρ", "smaller", text="the bound on ‖v_t‖"),)


def check(inst: PointInstance, impl, budget) -> Evidence:
    rho = inst.scalars["rho"]
    x = inst.x_tensor(device=budget.device)
    beta = inst.problem.beta_on_ball(x, rho)
    bound = constant(budget, CONSTANTS, "c") * beta * rho
    n = budget.draws(impl, cap=4096)
    v = perturbations(impl, inst.problem, x, {"lr": 1.0, "rho": rho}, n, budget.seed)
    norms = torch.linalg.vector_norm(v, dim=-1)
    worst = float(norms.max())
    grad_norm = float(torch.linalg.vector_norm(inst.problem.grad(x)))
    # v is read back as (x − x⁺)/η − ∇f(x): its round-off scales with ‖x‖, ‖∇f‖ and ‖v‖.
    tol = 256 * torch.finfo(torch.float64).eps * (float(x.abs().max()) + grad_norm + worst + beta * rho)
    ev = Evidence.tight_bound(worst, bound, tol, beta=beta, rho=rho, draws=n)
    if not ev.holds:
        ev.note = f"‖v_t‖ = {worst:.6g} > βρ = {bound:.6g}"
    return ev


CLAIM = Claim(
    id="ahn2024.vt_norm",
    paper="ahn2024",
    ref="Appendix B, proof of Theorem 1",
    kind="bound",
    statement=r"\|v_t\|\le\beta\rho\ \text{at each step }t,\quad v_t=\mathrm{Proj}^\perp_{\nabla f(x_t)}"
    r"\nabla f(x_t+\rho g_t)",
    summary="RSP's perturbation never exceeds βρ in norm.",
    faithful="exact",
    # Quadratics twice as often: there β is exact and the bound can be tight.
    instances=lambda budget: point_instances(
        st.one_of(quadratics(), smooth_problems()), scalars={"rho": log_uniform(-4, 0)}, lo=-4, hi=4
    ),
    check=check,
    algorithm="rsp",
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
