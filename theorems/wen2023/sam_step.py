r"""wen2023.sam_step — one full-batch SAM step is eq. (3), §1 (Wen, Ma, Li 2023).

    "Sharpness-Aware Minimization (SAM):  x(t+1) = x(t) − η∇L(x + ρ∇L(x)/‖∇L(x)‖₂)   (3)"

Identity, checked against the implementation's own step: on a polynomial L at a rational x, the
prediction is evaluated from the sympy expression of ∇L with mpmath at 40 digits; the step of the
implementation (float64) must agree coordinate by coordinate within a float64 round-off bound
(`flatcheck.impl.predict`: 256·ε times the propagated magnitude of every gradient evaluation).
Where ∇L(x) = 0, (3) is undefined (the ascent direction is 0/0): such an instance is out of scope.
A user's SAM is driven through davda54/sam's protocol (backward() at x, then step(closure)) with
base_optimizer = torch.optim.SGD.
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.impl.predict import sam_prediction, step_against_prediction
from flatcheck.problems import PointInstance, log_uniform, point_instances, smooth_problems, wen_toy
from flatcheck.verify import Claim, Evidence


def check(inst: PointInstance, impl, budget) -> Evidence:
    lr, rho = inst.scalars["lr"], inst.scalars["rho"]
    pred = sam_prediction(inst.problem, inst.x, lr, rho)
    if pred is None:
        return Evidence(None, out_of_scope="∇L(x) = 0: the SAM step (3) is undefined")
    x = inst.x_tensor(device=budget.device)
    holds, margin, values = step_against_prediction(impl, inst.problem, x, {"lr": lr, "rho": rho}, budget.seed, pred)
    values["tolerance"] = float(pred.tol.min())
    note = "" if holds else "the SAM step differs from x − η∇L(x + ρ∇L(x)/‖∇L(x)‖) beyond round-off"
    return Evidence(holds, values, margin=margin, note=note)


CLAIM = Claim(
    id="wen2023.sam_step",
    paper="wen2023",
    ref="eq. (3), §1",
    kind="identity",
    statement=r"x(t+1)=x(t)-\eta\nabla L\Big(x+\rho\frac{\nabla L(x)}{\|\nabla L(x)\|_2}\Big)",
    summary="One full-batch SAM step equals x − η∇L(x + ρ∇L/‖∇L‖) exactly, to round-off.",
    instances=lambda budget: point_instances(
        st.one_of(smooth_problems(max_d=3), st.just(wen_toy())),
        scalars={"lr": log_uniform(-6, 0), "rho": log_uniform(-8, 0)},
        lo=-4,
        hi=4,
    ),
    check=check,
    algorithm="sam",
    describe=PointInstance.describe,
)
