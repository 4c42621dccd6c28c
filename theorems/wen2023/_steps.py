"""What the step claims of wen2023 (eq. (2), (3), (7)) share: the declared coefficients of ρ and η,
the path judged step by step against the paper's update, and the instances' ranges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from hypothesis import strategies as st

from flatcheck.impl.predict import ErrorModel, NormaliserFit, error_model, judge_path, memo, safe_steps
from flatcheck.impl.protocol import GROUPED, harness_keys
from flatcheck.problems import PointInstance, iterations, layouts, log_uniform, point_instances
from flatcheck.verify import Budget, Claim, Constant, Evidence, constant

CONSTANTS = (
    Constant("c_rho", 1.0, "1 in the ascent radius 1·ρ", "exact", text="the ascent step's length"),
    Constant("c_eta", 1.0, "1 in the step 1·η", "exact", text="the descent step's size"),
)

# fits(point, η, ρ, model): the paper's step from `point`, one fit per candidate (None where undefined).
Fits = Callable[[list, float, float, ErrorModel], list[NormaliserFit | None]]


def judge_steps(
    inst: PointInstance,
    impl: Any,
    budget: Budget,
    fits: Fits,
    *,
    steps: tuple[int, int, int],
    formula: str,
    undefined: str,
    chains: tuple[int, int, int] | None = None,
) -> Evidence:
    """Consecutive steps of one optimizer (`steps` by profile; `chains` independent rows, else one),
    each judged against the candidates `fits` gives from the point reached; out of scope where a
    candidate is undefined at the start."""
    lr, rho = inst.scalars["lr"], inst.scalars["rho"]
    # What the update predicts with the declared coefficients of ρ and η (both 1 as printed).
    c_rho, c_eta = constant(budget, CONSTANTS, "c_rho"), constant(budget, CONSTANTS, "c_eta")
    model = error_model(budget)
    x = inst.x_tensor(dtype=model.dtype, device=budget.device)

    @memo
    def candidates(point: list):
        found = fits(point, c_eta * lr, c_rho * rho, model)
        return None if any(f is None for f in found) else found

    if candidates(x.tolist()) is None:
        return Evidence(None, out_of_scope=undefined)
    rows: torch.Tensor = x.unsqueeze(0) if chains is None else x.expand(budget.scaled(*chains), -1).clone()
    n_steps = safe_steps(candidates, x.tolist(), budget.scaled(*steps))
    hp = {"lr": lr, "rho": rho, **harness_keys(inst.scalars)}
    j = judge_path(impl, inst.problem, rows, hp, budget.seed, n_steps, candidates, formula, model)
    if j.holds and impl.batched_step is None:
        # The papers' x is the whole model, however its tensors are grouped: the same steps with one
        # param group per tensor show a normaliser taken per group. A correct class reaches the same
        # points, so its predictions come from the memo.
        grouped = judge_path(
            impl, inst.problem, rows, {**hp, GROUPED: True}, budget.seed, n_steps, candidates, formula, model
        )
        if grouped.holds is not True:
            where = "with one param group per tensor: "
            return Evidence(grouped.holds, grouped.values, margin=grouped.margin, note=where + grouped.note)
    return Evidence(j.holds, j.values, margin=j.margin, note=j.note)


def step_claim(
    *,
    id: str,
    ref: str,
    statement: str,
    summary: str,
    problems: Callable[[], st.SearchStrategy],
    check: Callable[..., Evidence],
    algorithm: str,
) -> Claim:
    """A step claim: an identity as printed, on `problems` at x ∈ [−4, 4]^d, η = 2^{-6} … 1, ρ = 2^{-8} … 1,
    the optimizers `iterations()` steps into a run."""
    return Claim(
        id=id,
        paper="wen2023",
        ref=ref,
        kind="identity",
        statement=statement,
        summary=summary,
        faithful="exact",
        instances=lambda budget: point_instances(
            problems(),
            scalars={
                "lr": log_uniform(-6, 0),
                "rho": log_uniform(-8, 0),
                "iteration": iterations(),
                "layout": layouts(),
            },
            lo=-4,
            hi=4,
        ),
        check=check,
        algorithm=algorithm,
        describe=PointInstance.describe,
        constants=CONSTANTS,
    )
