r"""wen2023.ascent_step — one step of gradient descent on the ascent-direction loss, eq. (2), §1.

    "min_x L^asc_ρ(x), where L^asc_ρ(x) = L(x + ρ∇L(x)/‖∇L(x)‖₂).   (2)"
    (Figure 1: "GD on Ascent-direction Loss L^asc_ρ (2)"; unlike SAM (3), the gradient is taken
     through every occurrence of x.)

Identity: x⁺ = x − η∇L^asc_ρ(x), with ∇L^asc_ρ = (I + ρ·∂(∇L/‖∇L‖)/∂x)ᵀ∇L(y), y = x + ρ∇L/‖∇L‖,
where the Jacobian of the normalised gradient is differentiated by sympy (not the closed form the
built-in uses) and everything is evaluated with mpmath at 40 digits at a rational x. The
implementation's step must agree within the float64 round-off bound of `flatcheck.impl.predict`.
Where ∇L(x) = 0, L^asc is undefined (wen2023 §3.1): out of scope. A user's class receives a
closure that returns the loss without calling backward() (it differentiates twice itself).
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.impl.predict import ascent_prediction, step_against_prediction
from flatcheck.problems import PointInstance, example1, log_uniform, point_instances, quadratics, random_polynomials
from flatcheck.verify import Claim, Evidence


def check(inst: PointInstance, impl, budget) -> Evidence:
    lr, rho = inst.scalars["lr"], inst.scalars["rho"]
    pred = ascent_prediction(inst.problem, inst.x, lr, rho)
    if pred is None:
        return Evidence(None, out_of_scope="∇L(x) = 0: L^asc_ρ is undefined there")
    x = inst.x_tensor(device=budget.device)
    holds, margin, values = step_against_prediction(impl, inst.problem, x, {"lr": lr, "rho": rho}, budget.seed, pred)
    note = "" if holds else "the step differs from x − η∇L^asc_ρ(x) beyond round-off"
    return Evidence(holds, values, margin=margin, note=note)


CLAIM = Claim(
    id="wen2023.ascent_step",
    paper="wen2023",
    ref="eq. (2), §1; Figure 1",
    kind="identity",
    statement=r"x^+=x-\eta\nabla L^{\mathrm{asc}}_\rho(x),\quad L^{\mathrm{asc}}_\rho(x)="
    r"L\Big(x+\rho\frac{\nabla L(x)}{\|\nabla L(x)\|_2}\Big)",
    summary="One GD step on L^asc_ρ (gradient through the normalisation) matches the symbolic gradient.",
    instances=lambda budget: point_instances(
        st.one_of(st.just(example1()), quadratics(d=st.integers(2, 3)), random_polynomials(d=st.integers(2, 3))),
        scalars={"lr": log_uniform(-6, 0), "rho": log_uniform(-8, 0)},
        lo=-4,
        hi=4,
    ),
    check=check,
    algorithm="ascent_gd",
    describe=PointInstance.describe,
)
