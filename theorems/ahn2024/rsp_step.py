r"""ahn2024.rsp_step — steps of Randomly Smoothed Perturbation are update (2), Algorithm 1, §3.

    "x_{t+1} ← x_t − η(∇f(x_t) + v_t), where v_t := Proj⊥_{∇f(x_t)} ∇f(x_t + ρg_t)   (2)
     Here g_t ∼ Unif(S^{d−1}) is a random unit vector."
    Algorithm 1 takes this step when ‖∇f(x_t)‖ ≤ ε₀ and draws g_t at every iteration t.

With ε₀ = ∞ (every step is (2)), on polynomials at a rational x₀: many independent chains each run
two steps x₀ → x₁ → x₂ of one optimizer, and with h_t = (x_{t−1} − x_t)/η and the exact sphere
moments of g (no sampling in the prediction; `flatcheck.impl.predict.rsp_moments`):
(i) E h₁ = ∇f(x₀) + Proj⊥_{∇f(x₀)} E∇f(x₀ + ρg); (ii) E‖h₁ − E h₁‖² = E‖Proj⊥∇f(x₀ + ρg)‖² −
‖Proj⊥E∇f(x₀ + ρg)‖² — g on the unit sphere, not Gaussian, not of another radius; (iii)
E⟨δ₁, δ₂⟩ = 0 with δ_t = h_t − E[h_t | x_{t−1}] — g_t drawn afresh at every step (a direction fixed
across steps gives δ₂ ≈ δ₁ when η is small). Normal intervals at level α/3 each, in one look of
all chains (`flatcheck.impl.predict.two_step_tests` says why not in looks); η is drawn small
(2⁻⁸…2⁻⁴), every test being valid for any η. Where ∇f(x₀) = 0 the projection is undefined: out of
scope. The implementation is constructed with lr, rho, eps0 = ∞, lr_prime = lr. Algorithm 1's
other branch, x_{t+1} = x_t − η′∇f(x_t) where ‖∇f(x_t)‖ > ε₀, is checked first on consecutive
steps of one optimizer built with ε₀ = ½‖∇f(x₀)‖ and η′ = 4η (`plain_branch`), to round-off.
Both are checked with the optimizers i ∈ {0, 63, 599} steps into a run (`iterations()`: one
optimizer warmed up on a linear loss and copied to every chain; the plain branch fresh and at i):
(2) holds at every t, and a defect may wait for a step count.
No symbolic part of its own: (2) is an update rule; the exact sphere moments of g its predictions use are
computed by flatcheck.impl.predict.rsp_moments.
"""

from __future__ import annotations

import math

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.impl.predict import (
    F64,
    ROUNDOFF,
    PathJudgement,
    judge_path,
    plain_step_fit,
    rsp_moments,
    step_moment_tests,
    two_step_tests,
)
from flatcheck.impl.protocol import harness_keys
from flatcheck.problems import PointInstance, point_instances, step_problems
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._rsp import step_scalars

CONSTANTS = (
    Constant("c_rho", 1.0, "1 in the ascent radius 1·ρ", "exact", text="the perturbation's radius"),
    Constant("c_eta", 1.0, "1 in the step 1·η(∇f + v)", "exact", text="the step size"),
)


# η′/η in the large-gradient check: any value other than 1 tells a class that steps there with η apart.
LR_PRIME_RATIO = 4.0
PLAIN_STEPS = 3


def plain_branch(inst: PointInstance, impl, seed: int) -> PathJudgement:
    """Algorithm 1's other branch, deterministic: where ‖∇f(x_t)‖ > ε₀ the step is x − η′∇f(x_t).
    With ε₀ = ½‖∇f(x₀)‖ and η′ = 4η one optimizer takes PLAIN_STEPS steps, each judged to round-off
    from the point reached while ‖∇f(x_t)‖ stays clear of ε₀ (the first always is), so ignoring η′,
    reversing the comparison or perturbing there is falsified."""
    prob, s = inst.problem, inst.scalars
    x = inst.x_tensor()
    eps0 = 0.5 * float(torch.linalg.vector_norm(prob.grad(x)))
    lr_prime = LR_PRIME_RATIO * s["lr"]
    hp = {"lr": s["lr"], "rho": s["rho"], "eps0": eps0, "lr_prime": lr_prime, **harness_keys(s)}

    def candidates(point: list) -> list | None:
        norm = float(torch.linalg.vector_norm(prob.grad(torch.tensor(point, dtype=torch.float64))))
        return [plain_step_fit(prob, point, lr_prime, norm)] if norm > eps0 * (1 + 1e-6) else None

    return judge_path(impl, prob, x.unsqueeze(0), hp, seed, PLAIN_STEPS, candidates, "x − η′∇f(x) (‖∇f‖ > ε₀)")


def check(inst: PointInstance, impl, budget) -> Evidence:
    prob, s = inst.problem, inst.scalars
    x = inst.x_tensor(device=budget.device)
    if not bool(prob.grad(x).abs().max() > 0):
        return Evidence(None, out_of_scope="∇f(x) = 0: Proj⊥_{∇f(x)} is undefined")
    branch = plain_branch(inst, impl, budget.seed)
    if branch.holds is False:
        return Evidence(False, branch.values, margin=branch.margin, note=branch.note)
    hp = {"lr": s["lr"], "rho": s["rho"], "eps0": math.inf, "lr_prime": s["lr"], **harness_keys(s)}
    c_rho, c_eta = constant(budget, CONSTANTS, "c_rho"), constant(budget, CONSTANTS, "c_eta")
    mean, variance, conditional, perturbed_sq = rsp_moments(prob, inst.x, sp.Rational(c_rho * s["rho"]))
    n = budget.draws(impl)
    eps = torch.finfo(torch.float64).eps
    # h is read back from x − x⁺ (round-off ~ε|x|/η) and carries the gradients' own round-off; and the
    # reductions correct code may do in float32 (`ErrorModel.reduction`): g's normaliser moves x + ρg
    # by ρδ (∇f there by ≲ δ(‖∇f(x + ρg)‖ + ‖∇f(x)‖)), the projection's ⟨∇f, v⟩/‖∇f‖² is off by 2δ
    # relative (v by ≤ 2δ‖∇f(x + ρg)‖), with ‖∇f(x + ρg)‖ taken at its root mean square.
    reductions = F64.reduction(prob.d) * (3 * perturbed_sq**0.5 + float(torch.linalg.vector_norm(prob.grad(x))))
    round_h = ROUNDOFF * eps * (float(x.abs().max()) / s["lr"] + float(mean.abs().max()) + variance**0.5 + 1)
    round_h += reductions
    run = two_step_tests(
        impl,
        prob,
        x,
        hp,
        n,
        budget.seed,
        budget.alpha,
        lambda path, a: step_moment_tests(path, c_eta * s["lr"], mean, variance, conditional, a, round_h),
    )
    tests = run.result
    failed = [name for name, ok, _, _ in tests if not ok]
    values = {**hp, "draws": run.draws, **run.record(), **{name: v for name, _, _, v in tests}}
    note = f"RSP's steps fail the {', '.join(failed)} test(s)" if failed else ""
    return Evidence(not failed, values, margin=min(m for _, _, m, _ in tests), note=note)


CLAIM = Claim(
    id="ahn2024.rsp_step",
    paper="ahn2024",
    ref="update (2) and Algorithm 1, §3",
    kind="expectation",
    statement=r"x_{t+1}=x_t-\eta\big(\nabla f(x_t)+\mathrm{Proj}^\perp_{\nabla f(x_t)}\nabla f(x_t+\rho g_t)\big),"
    r"\ g_t\sim\mathrm{Unif}(\mathbb S^{d-1})\ \text{fresh at every }t",
    summary="RSP's perturbed steps have the exact mean and variance of (2), g on the sphere and fresh every step.",
    faithful="exact",
    instances=lambda budget: point_instances(
        step_problems(polynomial_d=st.integers(2, 3), quadratic_d=st.integers(2, 3)),
        scalars=step_scalars(),
        lo=-4,
        hi=4,
    ),
    check=check,
    algorithm="rsp",
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
