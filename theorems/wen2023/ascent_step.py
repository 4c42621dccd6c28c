r"""wen2023.ascent_step — one step of gradient descent on the ascent-direction loss, eq. (2), §1.

    "min_x L^asc_ρ(x), where L^asc_ρ(x) = L(x + ρ∇L(x)/‖∇L(x)‖₂).   (2)"
    (Figure 1: "GD on Ascent-direction Loss L^asc_ρ (2)"; unlike SAM (3), the gradient is taken
     through every occurrence of x.)

Identity, for several consecutive steps of one optimizer, each from the point it reached:
x⁺ = x − η∇L^asc_ρ(x), with ∇L^asc_ρ = (I + ρ·∂(∇L/‖∇L‖)/∂x)ᵀ∇L(y), y = x + ρ∇L/‖∇L‖,
where the Jacobian of the normalised gradient is differentiated by sympy (not the closed form the
built-in uses) and everything is evaluated with mpmath at 40 digits at a rational x. The
implementation's step must agree within the error model of `flatcheck.impl.predict.ErrorModel`:
round-off of the parameters' dtype, and a normaliser ‖∇L‖ + e held constant under differentiation
(a float32 reduction, or a guard ε ≤ 1e-8·max(1, ‖∇L‖)), the family of such steps differentiated
symbolically in e.
Where ∇L(x) = 0, L^asc is undefined (wen2023 §3.1): out of scope. A user's class receives a
closure that returns the loss without calling backward() (it differentiates twice itself).
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.impl.predict import ascent_family, error_model, judge_path, memo, safe_steps
from flatcheck.problems import PointInstance, example1, log_uniform, point_instances, quadratics, random_polynomials
from flatcheck.verify import Claim, Constant, Evidence, constant

CONSTANTS = (
    Constant("c_rho", 1.0, "1 in the ascent radius 1·ρ", "exact", text="the ascent step's length"),
    Constant("c_eta", 1.0, "1 in the step 1·η", "exact", text="the descent step's size"),
)


def check(inst: PointInstance, impl, budget) -> Evidence:
    lr, rho = inst.scalars["lr"], inst.scalars["rho"]
    # What the update predicts with the declared coefficients of ρ and η (both 1 as printed).
    c_rho, c_eta = constant(budget, CONSTANTS, "c_rho"), constant(budget, CONSTANTS, "c_eta")
    model = error_model(budget)
    x = inst.x_tensor(dtype=model.dtype, device=budget.device)

    @memo
    def candidates(point: list):
        fit = ascent_family(inst.problem, point, c_eta * lr, c_rho * rho, model=model)
        return [fit] if fit else None

    if candidates(x.tolist()) is None:
        return Evidence(None, out_of_scope="∇L(x) = 0: L^asc_ρ is undefined there")
    steps = safe_steps(candidates, x.tolist(), budget.scaled(2, 3, 4))
    hp = {"lr": lr, "rho": rho}
    j = judge_path(impl, inst.problem, x.unsqueeze(0), hp, budget.seed, steps, candidates, "x − η∇L^asc_ρ(x)", model)
    return Evidence(j.holds, j.values, margin=j.margin, note=j.note)


CLAIM = Claim(
    id="wen2023.ascent_step",
    paper="wen2023",
    ref="eq. (2), §1; Figure 1",
    kind="identity",
    statement=r"x^+=x-\eta\nabla L^{\mathrm{asc}}_\rho(x),\quad L^{\mathrm{asc}}_\rho(x)="
    r"L\Big(x+\rho\frac{\nabla L(x)}{\|\nabla L(x)\|_2}\Big)",
    summary="Consecutive GD steps on L^asc_ρ (gradient through the normalisation) matches the symbolic gradient.",
    faithful="exact",
    instances=lambda budget: point_instances(
        st.one_of(st.just(example1()), quadratics(d=st.integers(2, 3)), random_polynomials(d=st.integers(2, 3))),
        scalars={"lr": log_uniform(-6, 0), "rho": log_uniform(-8, 0)},
        lo=-4,
        hi=4,
    ),
    check=check,
    algorithm="ascent_gd",
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
