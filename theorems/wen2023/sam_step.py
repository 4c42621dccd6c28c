r"""wen2023.sam_step — full-batch SAM steps are eq. (3), §1 (Wen, Ma, Li 2023).

    "Sharpness-Aware Minimization (SAM):  x(t+1) = x(t) − η∇L(x + ρ∇L(x)/‖∇L(x)‖₂)   (3)"

Identity, checked against the implementation's own steps: one optimizer object takes several
consecutive steps (3 quick, 4 default, 6 thorough, fewer where (3)'s own iterates leave a bounded
region), and each step is compared with (3) from the point the implementation actually reached, so
a stateful variant (an ascent reused every k steps, momentum in the ascent) shows at its second
step. On a polynomial L, (3) is evaluated from the sympy expression of ∇L with mpmath at 40 digits
at that point (an exact binary number). The step must agree coordinate by coordinate within the
error model of `flatcheck.impl.predict.ErrorModel`: round-off of the parameters' dtype (256·ε times
the propagated magnitude of every gradient evaluation), and a normaliser ‖∇L‖(1 + δ) + ε — |δ| of a
float32 reduction (pytorch-optimizer sums the global norm in float32), 0 ≤ ε ≤ 1e-8·max(1, ‖∇L‖)
a division guard — whose effect on the step is the step's own sensitivity to the normaliser. The
evidence says which: agreement to round-off, float32-level agreement, or the guard ε it implies.
Any other change (ρ/2, no normalisation, wrong sign, a per-tensor norm) is falsified; where only a
guard larger than 1e-6·‖∇L‖ explains the step (tiny ‖∇L‖), the instance is undecided.
Where ∇L(x) = 0, (3) is undefined (the ascent direction is 0/0): such an instance is out of scope.
A user's SAM is driven through davda54/sam's protocol (backward() at x, then step(closure)) with
base_optimizer = torch.optim.SGD, its parameters split over several tensors.
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.impl.predict import error_model, judge_path, memo, safe_steps, sam_family
from flatcheck.problems import PointInstance, log_uniform, point_instances, smooth_problems, wen_toy
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
        fit = sam_family(inst.problem, point, c_eta * lr, c_rho * rho, model=model)
        return [fit] if fit else None

    if candidates(x.tolist()) is None:
        return Evidence(None, out_of_scope="∇L(x) = 0: the SAM step (3) is undefined")
    steps = safe_steps(candidates, x.tolist(), budget.scaled(3, 4, 6))
    j = judge_path(
        impl, inst.problem, x.unsqueeze(0), {"lr": lr, "rho": rho}, budget.seed, steps, candidates, "(3)", model
    )
    return Evidence(j.holds, j.values, margin=j.margin, note=j.note)


CLAIM = Claim(
    id="wen2023.sam_step",
    paper="wen2023",
    ref="eq. (3), §1",
    kind="identity",
    statement=r"x(t+1)=x(t)-\eta\nabla L\Big(x+\rho\frac{\nabla L(x)}{\|\nabla L(x)\|_2}\Big)",
    summary="Consecutive full-batch SAM steps each equal x − η∇L(x + ρ∇L/‖∇L‖), to round-off.",
    faithful="exact",
    instances=lambda budget: point_instances(
        st.one_of(smooth_problems(max_d=3), st.just(wen_toy())),
        scalars={"lr": log_uniform(-6, 0), "rho": log_uniform(-8, 0)},
        lo=-4,
        hi=4,
    ),
    check=check,
    algorithm="sam",
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
