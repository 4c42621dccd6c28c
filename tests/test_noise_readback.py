"""nso.alg1_noise, nso.wp_noise and ahn2024.rsp_direction: the perturbations read back from where a
step evaluates the loss (flatcheck.impl.readback, theorems/nso/_noise.py). The reading against
hand-made points (an exact oracle); the claims on correct classes (verified), on classes whose noise
is wrong in a way their steps show weakly or only on some instances (falsified, by the test that sees
it), and on classes whose steps do not evaluate at W ± U (undecided: nothing to read, the step claims
judge them)."""

from __future__ import annotations

import importlib

import pytest
import torch
from test_step_claims import user, verdict

from flatcheck.impl.builtin import builtin
from flatcheck.impl.readback import drawn

noise = importlib.import_module("theorems.nso._noise")

W = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
U1 = torch.tensor([0.1, 0.2, -0.3], dtype=torch.float64)
U2 = torch.tensor([-0.4, 0.05, 0.25], dtype=torch.float64)


def test_pairs_are_read_in_any_order_besides_points_at_w():
    # W itself (a logged loss), then W − U2 before W + U2, and W − U1 reached as (W + U1) − 2U1.
    points = torch.stack([W, W + U1, W - U2, W + U2, (W + U1) - 2 * U1])
    got = drawn(points, W, 2, pairs=True)
    assert got is not None
    assert torch.allclose(got[0], U1, atol=1e-15) and torch.allclose(got[1], -U2, atol=1e-15)


def test_a_repeated_draw_of_a_discrete_law_is_two_draws_and_a_repeated_evaluation_one():
    same = torch.stack([W + U1, W - U1, W + U1, W - U1])
    assert drawn(same, W, 2, pairs=True).shape == (2, 3)  # U_1 = U_2 (Rademacher in small d)
    assert drawn(same, W, 1, pairs=True).shape == (1, 3)  # the class evaluated each point twice


def test_a_loss_logged_where_the_step_went_is_not_a_draw():
    end = W - 0.01 * U2
    assert torch.allclose(drawn(torch.stack([W, W + U1, end]), W, 1, pairs=False, end=end)[0], U1)
    assert drawn(torch.stack([W, W + U1, end]), W, 1, pairs=False) is None


def test_points_that_are_not_pairs_are_not_read():
    assert drawn(torch.stack([W + U1, W - U2]), W, 1, pairs=True) is None
    assert drawn(torch.stack([W + U1]), W, 1, pairs=True) is None
    assert drawn(torch.stack([W]), W, 1, pairs=False) is None
    assert torch.allclose(drawn(torch.stack([W, W + U1]), W, 1, pairs=False)[0], U1)


def test_the_tests_hold_on_exact_draws_and_fail_on_shared_or_reused_or_rescaled_ones():
    gen = torch.Generator().manual_seed(0)
    u = 0.25 * torch.randn(64, 2, 2, 4, generator=gen, dtype=torch.float64)  # chains, steps, k, d

    def failed(draws, sigma=0.25, law="gaussian"):
        return [name for name, p, level, _ in noise.noise_tests(draws, sigma, law, 1e-3, 4.0) if p < level]

    assert failed(u) == []
    shared = u.clone()
    shared[..., 3] = shared[..., 2]  # two one-element tensors given the same draw
    # Coordinates alike are alike in consecutive draws too: the fresh test's coins assume them independent.
    assert failed(shared)[0] == "coordinates"
    reused = u.clone()
    reused[:, 1] = -reused[:, 0]  # the step after negates the draw (antithetic steps)
    assert failed(reused) == ["fresh"]
    assert failed(u, sigma=0.25**2) == ["law"]  # σ² read as σ
    signs = torch.where(torch.rand(u.shape, generator=gen) < 0.5, -0.25, 0.25).to(torch.float64)
    assert failed(signs, law="rademacher") == []
    assert failed(signs * 1.01, law="rademacher") == ["law"]


@pytest.mark.parametrize(
    "path",
    ["broken_nso:ReferenceNSO", "unseen_nso:NoiseLawLoopNSO", "unseen_nso:Float32NoiseNSO", "unseen_nso:BufferedNSO"],
)
def test_correct_nsos_draw_p(path):
    res = verdict("nso.alg1_noise", user(path, "nso"))
    assert res.verdict == "verified", (res.reason, res.counterexample, res.traceback)


def test_flatcheck_s_own_optimizer_classes_draw_p():
    for claim_id, kind in (("nso.alg1_noise", "nso"), ("nso.wp_noise", "wp_sgd")):
        res = verdict(claim_id, builtin(kind))
        assert res.verdict == "verified", (claim_id, res.reason, res.traceback)


@pytest.mark.parametrize(
    "path, test",
    [
        ("mutants_nso:GaussianOnlyNSO", "law"),  # takes `noise`, always draws Gaussian
        ("unseen_nso:SqrtDScaledNSO", "law"),
        ("mutants_nso:SameNoiseForAllKNSO", "fresh"),
        ("unseen_nso:LateFrozenNoiseNSO", "repeats"),  # its frozen U repeats in the fresh 602-step run
        ("unseen_nso:RowBroadcastNoiseNSO", "coordinates"),
        ("unseen_nso:GroupSeededNSO", "coordinates"),
        ("unseen_nso:BankNSO", "repeats"),  # a bank of 300 draws cycled: U_301 = U_1 in a fresh run
    ],
)
def test_wrong_noise_falsified_by_the_test_that_sees_it(path, test):
    res = verdict("nso.alg1_noise", user(path, "nso"))
    assert res.verdict == "falsified", (res.reason, res.traceback)
    assert f" {test} (P = " in res.reason or f"{test} (P = " in res.reason, res.reason


def test_wp_sgd_noise_read_from_its_one_point():
    assert verdict("nso.wp_noise", user("unseen_nso:PerturbedSGDWPSGD", "wp_sgd")).verdict == "verified"
    res = verdict("nso.wp_noise", user("unseen_nso:VarianceSigmaWPSGD", "wp_sgd"))
    assert res.verdict == "falsified" and "law" in res.reason, res.reason


@pytest.mark.parametrize(
    "path, claim_id, kind",
    [("broken_nso:OnePointNSO", "nso.alg1_noise", "nso"), ("unseen_nso:LateClosureWPSGD", "nso.wp_noise", "wp_sgd")],
)
def test_steps_without_the_points_to_read_are_undecided_not_falsified(path, claim_id, kind):
    res = verdict(claim_id, user(path, kind))
    assert res.verdict == "inconclusive" and "cannot be read" in res.reason, res.reason


@pytest.mark.parametrize(
    "path, expected",
    [
        ("unseen_rsp:LoopRSP", "verified"),
        ("unseen_rsp:Float32DirectionRSP", "verified"),
        ("unseen_rsp:BufferedRSP", "verified"),
        ("unseen_rsp:PerTensorSphereRSP", "falsified"),  # a unit vector per tensor: ‖g‖ ≠ 1
        ("unseen_rsp:RowBroadcastDirectionRSP", "falsified"),  # one draw per matrix row: coordinates alike
        ("unseen_rsp:LateFrozenDirectionRSP", "falsified"),  # g kept from the 100th step on: not fresh
        ("unseen_rsp:BankRSP", "falsified"),  # a bank of 256 directions cycled: repeats in a fresh run
        ("broken_rsp:GaussianRSP", "falsified"),  # g ~ N(0, I/d), not on the sphere
        # A step defect, not the direction's: rsp_step judges it.
        ("broken_rsp:NoProjectionRSP", "verified"),
    ],
)
def test_rsp_directions_read_from_the_perturbed_point(path, expected):
    res = verdict("ahn2024.rsp_direction", user(path, "rsp"))
    assert res.verdict == expected, (res.reason, res.traceback)


def test_the_sphere_tests_fail_a_normalised_cube_point_and_hold_on_uniform_directions():
    direction_tests = importlib.import_module("theorems.ahn2024.rsp_direction").direction_tests
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(2048, 2, 5, generator=gen, dtype=torch.float64)
    sphere = z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)
    assert all(p >= level for _, p, level, _ in direction_tests(sphere, 1.0, 1e-3, 1e-12))
    c = 2 * torch.rand(2048, 2, 5, generator=gen, dtype=torch.float64) - 1
    cube = c / torch.linalg.vector_norm(c, dim=-1, keepdim=True)
    assert [name for name, p, level, _ in direction_tests(cube, 1.0, 1e-3, 1e-12) if p < level] == ["law"]
    assert [name for name, p, level, _ in direction_tests(2 * sphere, 1.0, 1e-3, 1e-12) if p < level][0] == "norm"
