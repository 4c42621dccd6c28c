r"""wen2023.sam_stochastic_step — stochastic SAM steps with batch size 1 are eq. (7), §4.2.

    "x(t+1) = x(t) − η∇L_{k_t}(x + ρ∇L_{k_t}(x)/‖∇L_{k_t}(x)‖₂),   (7)"
    with L = Σ_k L_k / M and k_t drawn uniformly from the M data (§4, "SGD with batch size 1").

Identity per draw: the harness draws k_t ~ Unif([M]) for every chain and every step and hands the
implementation the loss L_{k_t} (davda54 protocol: backward() of L_{k_t} at x, then step(closure)
on L_{k_t}). Several chains each run several consecutive steps of one optimizer (2 quick, 3
default, 4 thorough); every step must equal (7), from the point the chain reached, for one of the
M examples, evaluated with mpmath at 40 digits from the sympy expression of L_k, within the error
model of `flatcheck.impl.predict.ErrorModel` (round-off of the parameters' dtype; a normaliser
reduced in float32 or guarded by ε ≤ 1e-8·max(1, ‖∇L_k‖), which the evidence names). A stateful
variant (ascent reused, momentum in the ascent) fails at its second step. Instances where some
∇L_k(x) = 0 are out of scope ((7) is undefined there; Theorem 52 assumes L_k(x(t)) ≠ 0). Families
with a per-example split: the curved-manifold losses of wen2023 §4 and the Figure 1 toy.
No symbolic part: the stochastic SAM step is an update rule, predicted per draw from the formula itself; there
is no closed form to derive.
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.impl.predict import sam_family
from flatcheck.problems import PointInstance, manifold_losses, wen_toy
from flatcheck.verify import Evidence

from ._steps import judge_steps, step_claim


def check(inst: PointInstance, impl, budget) -> Evidence:
    prob = inst.problem
    return judge_steps(
        inst,
        impl,
        budget,
        lambda point, lr, rho, model: [
            sam_family(prob, point, lr, rho, index=k, model=model) for k in range(prob.n_examples)
        ],
        steps=(2, 3, 4),
        chains=(8, 16, 64),
        formula="(7)",
        undefined="some ∇L_k(x) = 0: the stochastic SAM step (7) is undefined there",
    )


CLAIM = step_claim(
    id="wen2023.sam_stochastic_step",
    ref="eq. (7), §4.2",
    statement=r"x(t+1)=x(t)-\eta\nabla L_{k_t}\Big(x+\rho\frac{\nabla L_{k_t}(x)}{\|\nabla L_{k_t}(x)\|_2}\Big)",
    summary="Consecutive stochastic SAM steps (batch size 1) each equal (7) for the drawn example, to round-off.",
    problems=lambda: st.one_of(st.just(wen_toy()), manifold_losses(p=st.just(1), m=st.integers(2, 3))),
    check=check,
    algorithm="sam_stochastic",
)
