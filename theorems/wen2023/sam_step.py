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
No symbolic part: the SAM step is an update rule, predicted per draw from the formula itself; there is no
closed form to derive.
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.impl.predict import sam_family
from flatcheck.problems import PointInstance, smooth_problems, wen_toy
from flatcheck.verify import Evidence

from ._steps import judge_steps, step_claim


def check(inst: PointInstance, impl, budget) -> Evidence:
    return judge_steps(
        inst,
        impl,
        budget,
        lambda point, lr, rho, model: [sam_family(inst.problem, point, lr, rho, model=model)],
        steps=(3, 4, 6),
        formula="(3)",
        undefined="∇L(x) = 0: the SAM step (3) is undefined",
    )


CLAIM = step_claim(
    id="wen2023.sam_step",
    ref="eq. (3), §1",
    statement=r"x(t+1)=x(t)-\eta\nabla L\Big(x+\rho\frac{\nabla L(x)}{\|\nabla L(x)\|_2}\Big)",
    summary="Consecutive full-batch SAM steps each equal x − η∇L(x + ρ∇L/‖∇L‖), to round-off.",
    problems=lambda: st.one_of(smooth_problems(max_d=3), st.just(wen_toy())),
    check=check,
    algorithm="sam",
)
