"""ahn2024.theorem1 as stated: the iterate Algorithm 1 returns (uniform on x₁ … x_T), its failure
probability bounded by C·δ^q with exact binomial bounds — both ways."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

import flatcheck_theorems.ahn2024.theorem1 as theorem1
from flatcheck.impl import Implementation, builtin
from flatcheck.impl.trace_change import returned_iterates
from flatcheck.problems.setting1 import diagonal_network
from flatcheck.stats.binomial import clopper_pearson
from flatcheck.verify.profiles import budget_for

QUICK = budget_for("quick")


def test_clopper_pearson_matches_the_exact_interval_and_its_edges():
    """Exact: at the lower bound P(X ≥ k) = α, at the upper P(X ≤ k) = α (binomial sums, no scipy)."""

    def at_most(k: int, n: int, p: float) -> float:
        return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k + 1))

    for k, n, alpha in [(5, 10, 0.025), (1, 40, 1e-3), (37, 40, 1e-6), (300, 1024, 1e-7)]:
        lower, upper = clopper_pearson(k, n, alpha)
        assert 1 - at_most(k - 1, n, lower) == pytest.approx(alpha, rel=1e-6)
        assert at_most(k, n, upper) == pytest.approx(alpha, rel=1e-6)
    # k = n: the lower bound is alpha^(1/n) — at α = 10⁻⁶, 49 runs are the least that can falsify C·δ = ¾.
    assert clopper_pearson(48, 48, 1e-6)[0] == pytest.approx(1e-6 ** (1 / 48))
    assert clopper_pearson(49, 49, 1e-6)[0] > 0.75 > clopper_pearson(48, 48, 1e-6)[0]
    assert clopper_pearson(0, 10, 0.01) == (0.0, pytest.approx(1 - 0.01**0.1))


def test_returned_iterate_is_uniform_on_x1_to_xT():
    """A step that adds 1 makes x̂ − x₀ the index U Algorithm 1 draws: every value of 1 … T, never 0."""
    impl = dataclasses.replace(builtin("rsp"), batched_step=lambda prob, x, hp, gen, anti, draw: x + 1)
    prob = diagonal_network([1], [1])
    x0 = torch.zeros(4000, 2, dtype=torch.float64)
    u = returned_iterates(impl, prob, x0, {"lr": 0.1, "rho": 0.1, "eps0": 0.1, "lr_prime": 0.1}, 5, seed=3)[:, 0]
    counts = torch.bincount(u.long(), minlength=6)
    assert counts[0] == 0 and int(counts.sum()) == 4000
    assert all(abs(int(c) - 800) < 5 * math.sqrt(800) for c in counts[1:]), counts


def _rows(rates: list[float], bound: float, runs: int = 1024, alpha: float = 1e-6) -> list[dict]:
    rows = []
    for i, p in enumerate(rates):
        k = round(p * runs)
        lo, up = clopper_pearson(k, runs, alpha)
        rows.append(dict(eps=0.1, delta=0.5 - 0.1 * i, T=10, failures=k, runs=runs, failure_rate=k / runs))
        rows[-1].update(lower=lo, upper=up, bound=bound)
    return rows


def test_the_rule_verifies_falsifies_and_leaves_a_straddle_open():
    values = {"batched": True}
    assert theorem1.decide(_rows([0.6, 0.45], 0.75), values, {}).holds is True
    over = theorem1.decide(_rows([0.6, 0.9], 0.75), values, {})
    assert over.holds is False and "fails too often" in over.note and over.margin < 0
    straddle = theorem1.decide(_rows([0.6, 0.72], 0.75), values, {})
    assert straddle.holds is None and "cannot place" in straddle.note


def test_builtin_rsp_verified_with_its_failure_counts():
    ev = theorem1.CLAIM.check({}, builtin("rsp"), QUICK)
    assert ev.holds is True, ev.note
    pts = ev.values["points"]
    assert len(pts) == 4 and all(p["upper"] <= p["bound"] for p in pts)
    # Not vacuous: failures occur at every point, and the corner is within a factor 2 of the bound.
    assert all(p["failures"] > 0 for p in pts) and ev.values["tightness"] > 0.5
    assert [p["T"] for p in pts] == [math.ceil(e**-3 * d**-4 / 256) for e in (0.1, 0.08) for d in (0.5, 0.4)]


@pytest.mark.parametrize(
    "constants",
    [{"T_eps_exponent": 2.0}, {"failure_constant": 0.9}, {"failure_exponent": 2.0}],
    ids=["T~eps^-2", "C/2", "O(delta^2)"],
)
def test_strengthened_statements_are_falsified(constants):
    ev = theorem1.CLAIM.check({}, builtin("rsp"), dataclasses.replace(QUICK, constants=constants))
    assert ev.holds is False, ev.note


def test_a_step_that_never_flattens_is_falsified():
    """RSP without its perturbation (ρ = 0) stays at the sharp minimum (2, ½): every run fails."""
    rsp = builtin("rsp")
    stuck = dataclasses.replace(
        rsp, batched_step=lambda p, x, hp, g, a, d: rsp.batched_step(p, x, {**hp, "rho": 0.0}, g, a, d)
    )
    ev = theorem1.CLAIM.check({}, stuck, QUICK)
    assert ev.holds is False and all(p["failures"] == p["runs"] for p in ev.values["points"]), ev.note


class _Frozen(torch.optim.Optimizer):
    """A user's RSP that evaluates the loss and never moves: it stays at the sharp minimum."""

    def __init__(self, params, lr: float, rho: float, eps0: float, lr_prime: float):
        super().__init__(params, {"lr": lr})

    def step(self, closure=None):
        with torch.enable_grad():
            return closure()


@pytest.mark.slow  # 144 runs × 63 steps of a user's optimizer, one closure each
def test_a_users_class_gets_enough_runs_to_falsify_one_that_never_flattens():
    ev = theorem1.CLAIM.check({}, Implementation("test:Frozen", "rsp", _Frozen), QUICK)
    (point,) = ev.values["points"]
    assert point["runs"] == 144 and point["failures"] == 144 and point["T"] == 63
    assert ev.holds is False and point["lower"] > point["bound"], ev.note
