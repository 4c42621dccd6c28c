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
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.impl.predict import error_model, judge_path, memo, safe_steps, sam_family
from flatcheck.problems import PointInstance, log_uniform, manifold_losses, point_instances, wen_toy
from flatcheck.verify import Claim, Constant, Evidence, constant

CONSTANTS = (
    Constant("c_rho", 1.0, "1 in the ascent radius 1·ρ", "exact", text="the ascent step's length"),
    Constant("c_eta", 1.0, "1 in the step 1·η", "exact", text="the descent step's size"),
)


def check(inst: PointInstance, impl, budget) -> Evidence:
    prob = inst.problem
    lr, rho = inst.scalars["lr"], inst.scalars["rho"]
    # What the update predicts with the declared coefficients of ρ and η (both 1 as printed).
    c_rho, c_eta = constant(budget, CONSTANTS, "c_rho"), constant(budget, CONSTANTS, "c_eta")
    model = error_model(budget)
    x = inst.x_tensor(dtype=model.dtype, device=budget.device)

    @memo
    def candidates(point: list):
        fits = [sam_family(prob, point, c_eta * lr, c_rho * rho, index=k, model=model) for k in range(prob.n_examples)]
        return None if any(f is None for f in fits) else fits

    if candidates(x.tolist()) is None:
        return Evidence(None, out_of_scope="some ∇L_k(x) = 0: the stochastic SAM step (7) is undefined there")
    n = budget.scaled(8, 16, 64)
    steps = safe_steps(candidates, x.tolist(), budget.scaled(2, 3, 4))
    hp = {"lr": lr, "rho": rho}
    j = judge_path(impl, prob, x.expand(n, -1).clone(), hp, budget.seed, steps, candidates, "(7)", model)
    return Evidence(j.holds, j.values, margin=j.margin, note=j.note)


CLAIM = Claim(
    id="wen2023.sam_stochastic_step",
    paper="wen2023",
    ref="eq. (7), §4.2",
    kind="identity",
    statement=r"x(t+1)=x(t)-\eta\nabla L_{k_t}\Big(x+\rho\frac{\nabla L_{k_t}(x)}{\|\nabla L_{k_t}(x)\|_2}\Big)",
    summary="Consecutive stochastic SAM steps (batch size 1) each equal (7) for the drawn example, to round-off.",
    faithful="exact",
    instances=lambda budget: point_instances(
        st.one_of(st.just(wen_toy()), manifold_losses(p=st.just(1), m=st.integers(2, 3))),
        scalars={"lr": log_uniform(-6, 0), "rho": log_uniform(-8, 0)},
        lo=-4,
        hi=4,
    ),
    check=check,
    algorithm="sam_stochastic",
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
