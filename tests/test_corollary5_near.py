"""wen2023.corollary5's near-minimisers (ε > 0): the instance that makes the declared order 2 tight."""

import dataclasses
import importlib

import torch

from flatcheck.verify.profiles import budget_for

mod = importlib.import_module("flatcheck_theorems.wen2023.corollary5")
NEAR = ("avg", mod.NEAR_A)


def test_near_minimizer_loss_has_order_two_and_satisfies_the_hypothesis():
    ev = mod.make_check()(NEAR, None, budget_for("quick"))
    assert ev.holds is True and ev.out_of_scope is None, ev.note
    assert abs(ev.values["loss_local_order"] - 2.0) < 0.05
    eps = ev.values["epsilon"]
    assert max(eps) / min(eps) < 1.05  # gap/ρ² settles: the corollary's ε, not a growing ratio


def test_order_three_mutant_is_falsified_by_the_near_minimizer():
    budget = dataclasses.replace(budget_for("quick"), constants={"order": 3.0})
    assert mod.make_check()(NEAR, None, budget).holds is False
    # The exact minimiser (L(u_ρ) = 0 for R^avg) cannot tell the orders apart.
    assert mod.make_check()(("avg", 0.0), None, budget).holds is True


def test_uncertified_hypothesis_puts_the_instance_out_of_scope():
    # L + R_ρ plus ‖y‖: the near-minimiser's gap becomes ~aρ, not O(ρ²), so the ερ² hypothesis fails.
    def loss(notion, prob, rho, gen):
        exact = mod.regularized_loss(notion, prob, rho, gen)
        return lambda u: exact(u) + torch.linalg.vector_norm(u[..., 2:], dim=-1)

    ev = mod.make_check(loss=loss)(NEAR, None, budget_for("quick"))
    assert ev.out_of_scope and ev.holds is None
