"""Whether an implementation of linearized SGD follows dexter2024 Definition 1: draws of Ĵ (one step
from W = I, `flatcheck.impl.jacobians.jacobian_draws`) tested for E[Ĵ] and E[Ĵ²] against the family
(`flatcheck.stats.stability.definition1_test`, Bernoulli sampling). Shared by the Theorem 1 claims."""

from __future__ import annotations

from flatcheck.impl.jacobians import jacobian_draws
from flatcheck.impl.protocol import Implementation
from flatcheck.problems.dexter_families import LinearSGDInstance
from flatcheck.stats.stability import definition1_test

FAILED_NOTE = "the implementation's Ĵ does not follow Definition 1 (E[Ĵ], E[Ĵ²] or a draw outside its range)"


def definition1_check(impl: Implementation, inst: LinearSGDInstance, draws: int, seed: int, alpha: float) -> dict:
    """`definition1_test`'s dict (holds, margin, max_error) for `draws` draws of the implementation's Ĵ
    at the instance's η and B, error rate alpha."""
    fam = inst.fam
    jac = jacobian_draws(impl, fam, inst.hp(), draws, seed)
    return definition1_test(jac, fam.hs, float(inst.lr), inst.batch, "bernoulli", alpha)
