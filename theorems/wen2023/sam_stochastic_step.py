r"""wen2023.sam_stochastic_step — one stochastic SAM step with batch size 1 is eq. (7), §4.2.

    "x(t+1) = x(t) − η∇L_{k_t}(x + ρ∇L_{k_t}(x)/‖∇L_{k_t}(x)‖₂),   (7)"
    with L = Σ_k L_k / M and k_t drawn uniformly from the M data (§4, "SGD with batch size 1").

Identity per draw: the harness draws k_t ~ Unif([M]) for every chain (replayed by
`flatcheck.impl.step_examples`) and hands the implementation the loss L_{k_t} (davda54 protocol:
backward() of L_{k_t} at x, then step(closure) on L_{k_t}); each chain's step must equal (7) for
its k_t, evaluated with mpmath at 40 digits from the sympy expression of L_{k_t}, within the float64
round-off bound of `flatcheck.impl.predict`. Instances where some ∇L_k(x) = 0 are out of scope
((7) is undefined there; Theorem 52 assumes L_k(x(t)) ≠ 0). Families with a per-example split:
the curved-manifold losses of wen2023 §4 and the Figure 1 toy.
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.impl import step_examples
from flatcheck.impl.predict import compare, sam_prediction
from flatcheck.problems import PointInstance, log_uniform, manifold_losses, point_instances, wen_toy
from flatcheck.verify import Claim, Evidence


def check(inst: PointInstance, impl, budget) -> Evidence:
    prob = inst.problem
    lr, rho = inst.scalars["lr"], inst.scalars["rho"]
    preds = [sam_prediction(prob, inst.x, lr, rho, index=k) for k in range(prob.n_examples)]
    if any(p is None for p in preds):
        return Evidence(None, out_of_scope="some ∇L_k(x) = 0: the stochastic SAM step (7) is undefined there")
    n = budget.scaled(8, 16, 64)
    x = inst.x_tensor(device=budget.device)
    got = impl.step_many(prob, x.expand(n, -1).clone(), {"lr": lr, "rho": rho}, budget.seed)
    ks = step_examples(prob, n, budget.seed, budget.device).tolist()
    results = [compare(row, preds[k]) for row, k in zip(got, ks)]
    worst = min(range(n), key=lambda r: results[r][1])
    holds = all(r[0] for r in results)
    values = {
        "lr": lr,
        "rho": rho,
        "draws": n,
        "examples_drawn": ks,
        "worst_draw_example": ks[worst],
        "worst_step": got[worst].tolist(),
        "predicted_step": preds[ks[worst]].value.tolist(),
        "max_abs_error": results[worst][2],
    }
    note = "" if holds else f"the step on example k={ks[worst]} differs from (7) beyond round-off"
    return Evidence(holds, values, margin=results[worst][1], note=note)


CLAIM = Claim(
    id="wen2023.sam_stochastic_step",
    paper="wen2023",
    ref="eq. (7), §4.2",
    kind="identity",
    statement=r"x(t+1)=x(t)-\eta\nabla L_{k_t}\Big(x+\rho\frac{\nabla L_{k_t}(x)}{\|\nabla L_{k_t}(x)\|_2}\Big)",
    summary="One stochastic SAM step (batch size 1) equals (7) for the drawn example, to round-off.",
    instances=lambda budget: point_instances(
        st.one_of(st.just(wen_toy()), manifold_losses(p=st.just(1), m=st.integers(2, 3))),
        scalars={"lr": log_uniform(-6, 0), "rho": log_uniform(-8, 0)},
        lo=-4,
        hi=4,
    ),
    check=check,
    algorithm="sam_stochastic",
    describe=PointInstance.describe,
)
