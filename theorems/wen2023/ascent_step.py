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
No symbolic part: the step of gradient descent on L^asc_ρ is an update rule, predicted from the formula
itself; there is no closed form to derive.
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.impl.predict import ascent_family
from flatcheck.problems import PointInstance, example1, quadratics, random_polynomials
from flatcheck.verify import Evidence

from ._steps import judge_steps, step_claim


def check(inst: PointInstance, impl, budget) -> Evidence:
    return judge_steps(
        inst,
        impl,
        budget,
        lambda point, lr, rho, model: [ascent_family(inst.problem, point, lr, rho, model=model)],
        steps=(2, 3, 4),
        formula="x − η∇L^asc_ρ(x)",
        undefined="∇L(x) = 0: L^asc_ρ is undefined there",
    )


CLAIM = step_claim(
    id="wen2023.ascent_step",
    ref="eq. (2), §1; Figure 1",
    statement=r"x^+=x-\eta\nabla L^{\mathrm{asc}}_\rho(x),\quad L^{\mathrm{asc}}_\rho(x)="
    r"L\Big(x+\rho\frac{\nabla L(x)}{\|\nabla L(x)\|_2}\Big)",
    summary="Consecutive GD steps on L^asc_ρ (gradient through the normalisation) matches the symbolic gradient.",
    problems=lambda: st.one_of(
        st.just(example1()), quadratics(d=st.integers(2, 3)), random_polynomials(d=st.integers(2, 3))
    ),
    check=check,
    algorithm="ascent_gd",
)
