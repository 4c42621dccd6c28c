"""The red-team measure of `flatcheck check` on NSO, WP-SGD and SAP classes written apart from the
other fixtures (tests/fixtures/unseen_nso.py, unseen_sap.py): each correct class — per-tensor loops,
a (k, d) noise matrix, W − U before W + U, float32 noise, a guard, float32 dot products, its own
torch.randint for σ — is verified, and each defective one is falsified by the cheapest claim that
sees its defect."""

from __future__ import annotations

import dataclasses
import math

import pytest
import sympy as sp
import torch
from test_step_claims import user, verdict

from flatcheck.impl.protocol import parameter_shapes
from flatcheck.problems import PointInstance, example1, wen_toy
from flatcheck.problems.polynomial import ridge_polynomial
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.registry import get

R = sp.Rational


@pytest.mark.slow
@pytest.mark.parametrize("name", ["LoopNSO", "MatrixNoiseNSO", "NoiseLawLoopNSO", "Float32NoiseNSO"])
def test_unseen_correct_nsos_verified(name):
    res = verdict("nso.alg1_step", user(f"unseen_nso:{name}", "nso"))
    assert res.verdict == "verified", (res.reason, res.counterexample, res.traceback)


@pytest.mark.parametrize(
    "name, claim_id",
    [
        # The step's scale (k + 1 pairs over 2k, 2k gradients over 2k − 1): eq28's exact mean sees it.
        ("ExtraPairNSO", "nso.eq28"),
        ("Over2kMinus1NSO", "nso.eq28"),
        # The update applied at W − U_k: the long runs of Theorem 4.3 no longer approach a stationary point.
        ("NoRestoreNSO", "nso.theorem4_3"),
    ],
)
def test_unseen_nso_scale_and_restore_defects_falsified(name, claim_id):
    res = verdict(claim_id, user(f"unseen_nso:{name}", "nso"), time_limit_s=10)
    assert res.verdict == "falsified", (res.reason, res.traceback)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["Sqrt2NSO", "UnpairedNSO", "EveryOtherStepNSO", "UniformWidthNSO", "BiasNoiseFreeNSO"],
)
def test_unseen_nso_noise_defects_falsified_by_the_step_claim(name):
    """A changed noise law or scale, a −U that is not the pair's own, noise reused at the next step,
    no noise on 1-D tensors: only the moments of Algorithm 1's step (mean, variance, E⟨δ₁, δ₂⟩) see them."""
    res = verdict("nso.alg1_step", user(f"unseen_nso:{name}", "nso"), time_limit_s=10)
    assert res.verdict == "falsified", (res.reason, res.traceback)


def alg1_step_at(name: str, iteration: int = 0, layout: str = "tensors", ridge: tuple = (1, 1, 0)) -> bool | None:
    """nso.alg1_step at one instance: the cubic ½‖W‖² + ⟨r, W⟩³/6 in d = 3 (r = (1, 1, 0) unless
    `ridge` says otherwise), which the harness splits as a 2 × 1 matrix (W₁, W₂) and a scalar (the
    layout "tensors"), at W = (1/2, −1, 1/4), the optimizers `iteration` steps into a run."""
    prob = ridge_polynomial([R(1)] * 3, [R(1), R(0), R(0)], [(3, R(1), [R(r) for r in ridge])])
    x = [R(1, 2), R(-1), R(1, 4)]
    scalars = {"lr": 2.0**-6, "sigma": 0.25, "k": 1, "noise": "gaussian", "iteration": iteration, "layout": layout}
    inst = PointInstance(prob, x, scalars=scalars)
    budget = dataclasses.replace(budget_for("quick"), alpha=1e-6, seed=5)
    return get("nso.alg1_step").check(inst, user(f"unseen_nso:{name}", "nso"), budget).holds


def test_noise_shared_by_a_matrixs_rows_shows_from_three_dimensions():
    """randn(p.shape[-1]) broadcast over a matrix gives its rows one perturbation: E∇f(W + U) then
    differs from ∇F(W) on a cubic whose ridge couples the rows. From d = 3 the harness's tensors
    include a 2 × 1 matrix (`parameter_shapes`), so nso.alg1_step's random polynomials (d = 3) reach it."""
    assert parameter_shapes(3) == [(2, 1), (1,)]
    assert parameter_shapes(3, wide=True) == [(1, 3)] and parameter_shapes(5, wide=True) == [(2, 2), (1,)]
    assert alg1_step_at("LoopNSO")
    assert alg1_step_at("RowSharedNoiseNSO") is False


@pytest.mark.parametrize("name, layout", [("RowBroadcastNoiseNSO", "wide"), ("GroupSeededNSO", "groups")])
def test_noise_shared_along_a_row_or_by_param_groups_shows_in_its_layout(name, layout):
    """One U per matrix row broadcast along it, or param groups drawing from generators seeded alike:
    exact for the harness's 2 × 1 matrix in one param group, so only the layout that has a row of
    several columns ("wide": one 1 × 3 row at d = 3) or several groups ("groups") shows them —
    Var(U₁ + U₃) doubled on the ridge ⟨(1, 0, 1), W⟩³ moves the mean step. Found by a red-team run
    (0 defects in quick and default before the layouts); a correct class holds in every layout."""
    for where in ("tensors", layout):
        assert alg1_step_at("LoopNSO", layout=where, ridge=(1, 0, 1)), where
    assert alg1_step_at(name, ridge=(1, 0, 1))
    assert alg1_step_at(name, layout=layout, ridge=(1, 0, 1)) is False


@pytest.mark.parametrize("name, layout", [("RowBroadcastDirectionRSP", "wide"), ("PerGroupSphereRSP", "groups")])
def test_an_rsp_direction_drawn_along_a_row_or_normalised_per_group_shows_in_its_layout(name, layout):
    """g with one Gaussian per matrix row, or normalised per param group (‖g‖ = √2 with two groups),
    on Example 1 (d = 2: one 1 × 2 row, or two one-element tensors in a group each): off the sphere,
    which the moments of RSP's step see; exact in the layout "tensors"."""
    assert rsp_step_at("LoopRSP", layout=layout) and rsp_step_at(name)
    assert rsp_step_at(name, layout=layout) is False


def rsp_step_at(name: str, iteration: int = 0, layout: str = "tensors") -> bool | None:
    """ahn2024.rsp_step at one instance: Example 1 at x = (1/2, −1), η = 2⁻⁶, ρ = ½, the optimizers
    `iteration` steps into a run, their parameters in `layout`."""
    scalars = {"lr": 2.0**-6, "rho": 0.5, "iteration": iteration, "layout": layout}
    inst = PointInstance(example1(), [R(1, 2), R(-1)], scalars=scalars)
    budget = dataclasses.replace(budget_for("quick"), alpha=1e-6, seed=5)
    return get("ahn2024.rsp_step").check(inst, user(f"unseen_rsp:{name}", "rsp"), budget).holds


def sap_step_at(name: str, iteration: int = 0) -> bool | None:
    """ahn2024.sap_step at one instance: the wen2023 toy at x = (1/2, −1, 3/4, −1/4), η = η′ = 2⁻³,
    ρ = ¼, ε₀ = ∞, the optimizers `iteration` steps into a run."""
    x = [R(1, 2), R(-1), R(3, 4), R(-1, 4)]
    scalars = {"lr": 2.0**-3, "lr_prime_ratio": 1.0, "rho": 0.25, "eps0_ratio": math.inf, "iteration": iteration}
    inst = PointInstance(wen_toy(), x, scalars=scalars)
    budget = dataclasses.replace(budget_for("quick"), alpha=1e-6, seed=5)
    return get("ahn2024.sap_step").check(inst, user(f"unseen_sap:{name}", "sap"), budget).holds


def test_noise_scaled_by_the_dimension_shows_in_the_moments():
    """σ/√d: the noise's variance falls threefold in d = 3, and with it the mean's curvature term."""
    assert alg1_step_at("SqrtDScaledNSO") is False


def test_noise_frozen_after_a_warm_up_shows_late_in_a_run():
    """U reused from step 50 on: a fresh optimizer's steps are right; 63 or 599 steps into a run its
    chains (copies of one warmed-up optimizer, `Chains`) all take the one frozen U, so the mean
    step and E⟨δ₁, δ₂⟩ are wrong. A correct class gives the same verdict at every iteration."""
    assert alg1_step_at("LateFrozenNoiseNSO", 0)
    assert alg1_step_at("LateFrozenNoiseNSO", 63) is False
    assert alg1_step_at("LateFrozenNoiseNSO", 599) is False
    assert alg1_step_at("LoopNSO", 599)
    assert alg1_step_at("MatrixNoiseNSO", 599)


@pytest.mark.parametrize("name", ["DrawnAheadNSO", "BufferedNSO"])
def test_noise_drawn_ahead_is_drawn_apart_in_every_late_chain(name):
    """Correct classes drawing U before the step that uses it — the next step's at the end of a step,
    or a block of 8 steps' at once: the late chains are copies of one warmed-up optimizer taken before
    the checked step's U was drawn, and each takes the last warm-up steps itself (its generator
    reseeded), so the U it holds for the checked step is its own. With the trunk's U in every chain
    (copies made after the last warm-up step) DrawnAheadNSO was falsified at 63 and 599, and
    BufferedNSO by a whole check's quick profile (seed 1) while only the last step was each chain's."""
    for iteration in (0, 63, 599):
        assert alg1_step_at(name, iteration), iteration


def test_a_generator_seeded_from_the_global_seed_draws_apart_in_every_chain():
    """InitialSeedNSO seeds its generator from torch.initial_seed() when built: with every chain's
    optimizer built after one torch.manual_seed, all 512 chains drew the same U (falsified by 4 of 7
    claims of a whole check, 2 red-team classes of RSP and SAP likewise). Each chain is built and
    stepped on a global RNG stream of its own now."""
    for iteration in (0, 63):
        assert alg1_step_at("InitialSeedNSO", iteration), iteration
    prob = ridge_polynomial([R(1)] * 3, [R(1), R(0), R(0)], [(3, R(1), [R(1), R(1), R(0)])])
    x = torch.tensor([[0.5, -1.0, 0.25]] * 4, dtype=torch.float64)
    run = user("unseen_nso:InitialSeedNSO", "nso").path(prob, x, {"lr": 0.01, "sigma": 0.25}, 0, 1, points=True)
    firsts = [pts[0] for pts in run.points[0]]
    assert all(not torch.equal(firsts[0], other) for other in firsts[1:])


def wp_step_at(name: str, iteration: int) -> bool | None:
    """nso.wp_step at one instance: the cubic of `alg1_step_at`, Gaussian P, the optimizers
    `iteration` steps into a run."""
    prob = ridge_polynomial([R(1)] * 3, [R(1), R(0), R(0)], [(3, R(1), [R(1), R(1), R(0)])])
    scalars = {"lr": 2.0**-6, "sigma": 0.25, "noise": "gaussian", "iteration": iteration, "layout": "tensors"}
    inst = PointInstance(prob, [R(1, 2), R(-1), R(1, 4)], scalars=scalars)
    # 128 chains, not quick's 512: chains sharing one bank step alike, which any count shows.
    budget = dataclasses.replace(budget_for("quick"), alpha=1e-6, seed=5, mc_samples_unbatched=128)
    return get("nso.wp_step").check(inst, user(f"unseen_nso:{name}", "wp_sgd"), budget).holds


@pytest.mark.slow
def test_a_bank_of_100_steps_noise_is_each_late_chains_own():
    """BankedWPSGD draws 100 steps' U at once: at iteration 63 the checked step's U was drawn at the
    first step, at 599 at the 501st — beyond the 64 steps the late chains looked back before (all
    chains shared the bank: 'fails the mean, variance tests' at both). The trunk is also copied
    128, 256, 512 steps short and fresh, tried where a copy's steps move while the copies agree."""
    for iteration in (63, 599):
        assert wp_step_at("BankedWPSGD", iteration), iteration


@pytest.mark.parametrize("name", ["PerturbedSGDWPSGD", "FlatLawWPSGD"])
def test_unseen_correct_wp_sgds_verified(name):
    res = verdict("nso.wp_step", user(f"unseen_nso:{name}", "wp_sgd"))
    assert res.verdict == "verified", (res.reason, res.counterexample, res.traceback)


@pytest.mark.parametrize(
    "name",
    [
        "NoRestoreWPSGD",
        pytest.param("VarianceSigmaWPSGD", marks=pytest.mark.slow),
        pytest.param("LateClosureWPSGD", marks=pytest.mark.slow),
    ],
)
def test_unseen_defective_wp_sgds_falsified(name):
    res = verdict("nso.wp_step", user(f"unseen_nso:{name}", "wp_sgd"), time_limit_s=10)
    assert res.verdict == "falsified", (res.reason, res.traceback)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["LoopSAP", "Float32DotSAP", "GuardedSAP"])
def test_unseen_correct_saps_verified(name):
    """LoopSAP draws σ with torch.randint(0, 2) from torch's global RNG: while that RNG was seeded
    with the harness generator's seed, σ replayed the harness's example draws (σ = 2i − 1 on two
    examples) and the mean over i and σ was biased — a false alarm on correct code."""
    res = verdict("ahn2024.sap_step", user(f"unseen_sap:{name}", "sap"))
    assert res.verdict == "verified", (res.reason, res.counterexample, res.traceback)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "PerTensorNormSAP",
        "PerTensorProjectionSAP",
        "SignPerTensorSAP",
        "FullGradDirectionSAP",
        "ProjectExampleGradSAP",
        "LrInBothBranchesSAP",
    ],
)
def test_unseen_defective_saps_falsified_by_the_step_claim(name):
    """LrInBothBranchesSAP steps with η where ‖∇f‖ > ε₀: seen by the η′-branch steps every instance runs."""
    res = verdict("ahn2024.sap_step", user(f"unseen_sap:{name}", "sap"), time_limit_s=10)
    assert res.verdict == "falsified", (res.reason, res.counterexample, res.traceback)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("HvpAscentGD", "verified"),
        ("AutogradAscentGD", "verified"),
        ("NoJacobianAscentGD", "falsified"),
        ("DetachedNormAscentGD", "falsified"),
        ("JacobianSignAscentGD", "falsified"),
    ],
)
def test_unseen_ascent_gds_judged_by_the_step_claim(name, expected):
    """GD on L^asc: the chain rule through ∇L/‖∇L‖ as one Hessian-vector product, or autograd through a
    guarded normaliser, is eq. (2)'s gradient; dropping the Jacobian term (SAM's step), holding ‖∇L‖
    fixed under differentiation or subtracting the term is not."""
    res = verdict("wen2023.ascent_step", user(f"unseen_ascent:{name}", "ascent_gd"), time_limit_s=10)
    assert res.verdict == expected, (res.reason, res.counterexample, res.traceback)


@pytest.mark.parametrize(
    "name, claim_id, expected",
    [
        ("LoopLinSGD", "dexter2024.figure1_2", "verified"),
        ("PermutationLinSGD", "dexter2024.figure1_2", "verified"),
        # A generator seeded from torch.initial_seed(): every chain's was alike while all were built
        # after one torch.manual_seed (each Ĵ the same draw); each chain is seeded apart now.
        ("InitialSeedLinSGD", "dexter2024.figure1_2", "verified"),
        # 1/|S| instead of 1/B: the Jacobian's mean (I − ηH) is no longer Definition 1's.
        ("BatchMeanLinSGD", "dexter2024.theorem1.corrected", "falsified"),
        # B draws with replacement where a subset without replacement is asked: the spread of Ĵ differs.
        ("WithReplacementLinSGD", "dexter2024.figure1_2", "falsified"),
    ],
)
def test_unseen_linsgds_judged(name, claim_id, expected):
    res = verdict(claim_id, user(f"unseen_linsgd:{name}", "linsgd"), time_limit_s=60)
    assert res.verdict == expected, (res.reason, res.counterexample, res.traceback)


def test_rsp_direction_and_sap_sign_frozen_late_in_a_run_are_falsified():
    """g (RSP) or σ (SAP) cached from the 100th step on: right at a fresh optimizer, wrong 599 steps
    into a run — the chains continue copies of one warmed-up optimizer, so a frozen direction fails
    the moments and E⟨δ₁, δ₂⟩ = 0, a frozen sign the fair-sign test given that run."""
    assert rsp_step_at("LateFrozenDirectionRSP", 0) and rsp_step_at("LoopRSP", 599)
    assert rsp_step_at("LateFrozenDirectionRSP", 599) is False
    assert sap_step_at("LateFixedSignSAP", 0) and sap_step_at("LoopSAP", 599)
    assert sap_step_at("LateFixedSignSAP", 599) is False


@pytest.mark.parametrize("name", ["DrawnAheadRSP", "BufferedRSP", "DrawnAheadSAP", "BufferedSAP"])
def test_rsp_directions_and_sap_signs_drawn_ahead_are_each_late_chains_own(name):
    """Correct classes drawing g (RSP) or σ (SAP) a step ahead, or a block of steps' at once, into
    their state: each late chain is a copy taken before the checked step's draw was made, and draws
    its own (`protocol._own_steps`), so the moments and the fair-sign test hold 599 steps into a run."""
    assert (rsp_step_at if name.endswith("RSP") else sap_step_at)(name, 599)
