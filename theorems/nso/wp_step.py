r"""nso.wp_step — one step of weight-perturbed SGD, the one-point baseline of the NSO paper (§2).

    "weight-perturbed SGD (or WP-SGD in short), where we sample a perturbation vector from P and add
     it to the model weights in each iteration before computing the gradient" (§2, Table 1):
    W_{i+1} = W_i − η g(W_i + U),  U ~ P = N(0, σ²I).

With g = ∇f and the exact moments of P on polynomials at a rational W₀, from many independent
chains run two steps and test (`flatcheck.impl.predict.perturbed_step_tests`, normal intervals at
level α/3 each; (ii)'s lower side by the exact E‖δ₁‖⁴, as ‖δ₁‖² is right-skewed):
(i) E h₁ = E∇f(W₀+U) = ∇F(W₀) — unbiased for the smoothed loss (P symmetric);
(ii) E‖h₁ − ∇F(W₀)‖² = E‖∇f(W₀+U) − ∇F(W₀)‖² — one point, no averaging (this one-point variance is
what NSO's two-point, k-averaged step reduces); (iii) E⟨δ₁, δ₂⟩ = 0 — fresh U every iteration.
As for nso.alg1_step, P is drawn per instance from the paper's four laws and passed as `noise`
when the class takes it (exact moments of each law); a class without one is checked with Gaussian P.
The steps are checked with the optimizers i ∈ {0, 63, 599} steps into a run (`iterations()`,
as for nso.alg1_step): the update holds at every iteration.
Declared constant: the step's coefficient 1 in W − η·g(W + U); moved, mean and variance scale with it.
No symbolic part: the weight-perturbed step is an update rule, predicted per draw from the formula itself;
there is no closed form to derive.
"""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.algorithms import LAWS
from flatcheck.impl.nso_readback import noise_hyper, unsupported_law
from flatcheck.impl.predict import perturbed_steps
from flatcheck.impl.protocol import harness_keys
from flatcheck.problems import PointInstance, point_instances, step_problems
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._noise import step_scalars

CONSTANTS = (Constant("step", 1.0, "1 in W − η g(W + U)", "exact", text="the step's coefficient"),)


def check(inst: PointInstance, impl, budget) -> Evidence:
    prob, s = inst.problem, inst.scalars
    law = s.get("noise", "gaussian")
    noise = noise_hyper(law, impl)
    if noise is None:
        return Evidence(None, out_of_scope=unsupported_law(impl, law))
    hp = {"lr": s["lr"], "sigma": s["sigma"], **harness_keys(s), **noise}
    x = inst.x_tensor(device=budget.device)
    failed, margin, values = perturbed_steps(
        impl,
        prob,
        inst.x,
        x,
        hp,
        budget.draws(impl),
        budget.seed,
        two_point=False,
        alpha=budget.alpha,
        scale=constant(budget, CONSTANTS, "step"),
    )
    note = f"the WP-SGD step fails the {', '.join(failed)} test(s)" if failed else ""
    return Evidence(not failed, values, margin=margin, note=note)


CLAIM = Claim(
    id="nso.wp_step",
    paper="nso",
    ref="§2 (WP-SGD, Table 1)",
    kind="expectation",
    statement=r"W_{i+1}=W_i-\eta\nabla f(W_i+U),\ U\sim\mathcal N(0,\sigma^2I):\ "
    r"\mathbb E\,W_{i+1}=W_i-\eta\nabla F(W_i)",
    summary="WP-SGD's step is one gradient at W + U with fresh U: unbiased for ∇F, one-point variance.",
    faithful="exact",
    instances=lambda budget: point_instances(
        # From d = 3 the harness's tensors include a 2 × 1 matrix, where noise shared by a matrix's rows
        # shows (`parameter_shapes`); the quadratics cannot see the noise's law at all.
        step_problems(polynomial_d=st.integers(2, 3), quadratic_d=st.integers(2, 4)),
        scalars=step_scalars(LAWS, k=False),
        lo=-4,
        hi=4,
    ),
    check=check,
    constants=CONSTANTS,
    algorithm="wp_sgd",
    describe=PointInstance.describe,
)
