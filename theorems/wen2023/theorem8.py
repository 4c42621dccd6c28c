r"""wen2023.theorem8 — full-batch SAM tracks the Riemannian gradient flow of λ₁, Theorem 8, §3.2.

    "Theorem 8 (Main, Theorems 46 and 47 stated informally) Let {x(t)} be the iterates of SAM (3)
     with x(0) = x_init ∈ U, then under Assumptions 1 and 7, for all η, ρ such that η ln(1/ρ) and
     ρ/η are sufficiently small, the dynamics of SAM can be split into two phases: […]
     Phase II: SAM tracks the solution X of (6), the Riemannian Gradient Flow with respect to
     λ₁(∇²L(·)) in the O(ηρ) neighborhood in the sense that
         max_{0≤T≤T₃} ‖Φ(x(⌈T/(ηρ²)⌉)) − X(T)‖ = O((η + ρ) log(1/ηρ)).
     Moreover, the angle between ∇L(x(t)) and v₁(∇²L(x(t))) is O(ρ)."
    (6)  X(τ) = X(0) − ½∫₀^τ P^⊤_{X(s),Γ} ∇λ₁(X(s)) ds,  X(0) = Φ(x_init).

Instances: the 4-D toy of Figure 1 (L = F₀(x)y₀² + F₁(x)y₁², Γ = {y = 0}, M = 2, eigengap 2(F₀ − F₁) > 0
near [0, 1]² — checked along the flow, Assumption 7) from rational x_init with x ∈ [0, 1]², y ≠ 0.
The implementation under test runs SAM for ⌈T₃/(ηρ²)⌉ steps on a ladder η = η₀s, ρ = ρ₀s
(s = 1, 2^{-1/2}, 2^{-1}, … by profile, `ladder`; η₀ = 1/50 so ηλ₁ ≤ 0.6, ρ₀/η₀ = 10 fixed: both conditions of the
theorem tighten along the ladder — the "sufficiently small" regime is sampled, not proven).
Φ is the converged gradient-flow limit (`flatcheck.numeric.flow.phi`), X the RK4 solution of (6)
(`flatcheck.numeric.riemannian`). Measured: e(s) = max over T_k ∈ {0, T₃/4, …, T₃} of
‖Φ(x(⌈T_k/ηρ²⌉)) − X(T_k)‖ and a(s) = max over k ≥ 1 of sin∠(∇L(x), v₁(∇²L(x))).
Decision rule (O(·) by scaling, with the claimed exponents, never a fraction of them): the
least-squares exponent of e against the rate (η+ρ)log(1/ηρ) — the log is the theorem's own —
must reach the claimed 1, and that of a against ρ the claimed 1 — unless the quantity is already
below the numerical floor (10× the flow integration error + Φ tolerance, resp. 1e-6). Each run is
deterministic, so the fitted exponent has no sampling interval; on the toy the measured exponents
sit well above 1 (≈ 1.6 and 1.9 in default).
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from flatcheck.errors import NonFiniteError
from flatcheck.impl.dynamics import ladder, required_exponent, scaling_exponent, track_limit_flow
from flatcheck.numeric.riemannian import eigen
from flatcheck.problems import toy_starts, wen_toy
from flatcheck.verify import Claim, Constant, Evidence, constant

ETA0, RHO0 = 0.02, 0.2
CONSTANTS = (
    Constant("error_exponent", 1.0, "1 in O((η+ρ)log(1/ηρ))", "larger", "exponent", 0.5, "tracking error"),
    Constant("angle_exponent", 1.0, "1 in O(ρ)", "larger", "exponent", 0.5, "angle between ∇L and v₁"),
)
ANGLE_FLOOR = 1e-6


def rate(eta: float, rho: float) -> float:
    return (eta + rho) * math.log(1 / (eta * rho))


def check(inst: dict, impl, budget) -> Evidence:
    prob = wen_toy()
    x_init = torch.tensor([float(v) for v in inst["x_init"]], dtype=torch.float64)
    t3 = budget.scaled(0.1, 0.2, 0.3)
    times = [t3 * k / 4 for k in range(5)]
    hps = [{"lr": ETA0 * s, "rho": RHO0 * s} for s in ladder(budget)]
    try:
        runs = track_limit_flow(impl, prob, x_init, 2, "top_eigenvalue", hps, times, 1, budget.seed)
    except NonFiniteError as e:
        return Evidence(False, {"levels": hps}, note=f"SAM diverged: {e}")
    if not runs[0].converged:
        return Evidence(None, out_of_scope="a gradient flow (Φ) did not converge: x_init ∉ U")
    flow = runs[0].flow
    if float(eigen(prob.hess(flow)).gap.min()) <= 1e-3:
        return Evidence(None, out_of_scope="the limit flow reached a point without eigengap (Assumption 7)")
    floor = 10 * runs[0].flow_error
    errs, angles, rates, rhos, paths = [], [], [], [], {}
    for hp, tr in zip(hps, runs):
        eta, rho = hp["lr"], hp["rho"]
        errs.append(float(tr.distance().max()))
        xs = tr.x[1:, 0]
        g = prob.grad(xs)
        cos = (g * eigen(prob.hess(xs)).top).sum(-1).abs() / torch.linalg.vector_norm(g, dim=-1)
        angles.append(float(torch.sqrt((1 - cos**2).clamp(min=0)).max()))
        rates.append(rate(eta, rho))
        rhos.append(rho)
        paths[f"Φ(x(t)), η={eta:.3g}, ρ={rho:.3g}"] = {"x": tr.phi[:, 0, 0].tolist(), "y": tr.phi[:, 0, 1].tolist()}
    e_exp = scaling_exponent(rates, errs)
    a_exp = scaling_exponent(rhos, angles)
    # O(·), its log written into the rate: no hidden log power (the rule theorem11 and corollary15_17 share).
    e_need = required_exponent(rates, constant(budget, CONSTANTS, "error_exponent"), 0)
    a_need = constant(budget, CONSTANTS, "angle_exponent")
    e_ok = errs[-1] <= floor or e_exp >= e_need
    a_ok = angles[-1] <= ANGLE_FLOOR or a_exp >= a_need
    values = {
        "T3": t3,
        "etas": [ETA0 * s for s in ladder(budget)],
        "rhos": rhos,
        "tracking_error": errs,
        "rate_(eta+rho)log(1/eta rho)": rates,
        "fitted_exponent_error_vs_rate": e_exp,
        "angle_sin_max": angles,
        "fitted_exponent_angle_vs_rho": a_exp,
        "numerical_floor": floor,
        # Claimed over fitted exponent, for the quantities above their floor: 1 is tight.
        "tightness": max(
            [e_need / e_exp] * (errs[-1] > floor and e_exp > 0)
            + [a_need / a_exp] * (angles[-1] > ANGLE_FLOOR and a_exp > 0),
            default=0.0,
        ),
        "flow_moved": float(torch.linalg.vector_norm(flow[-1] - flow[0])),
    }
    plot = {
        "type": "trajectories",
        "paths": paths,
        "reference": {"X(T), flow (6)": {"x": flow[:, 0].tolist(), "y": flow[:, 1].tolist()}},
        "xlabel": "x₀",
        "ylabel": "x₁",
        "title": "Φ(SAM iterates) against the Riemannian flow of λ₁",
    }
    margin = min(
        e_exp - e_need if not errs[-1] <= floor else 1.0, a_exp - a_need if not angles[-1] <= ANGLE_FLOOR else 1.0
    )
    note = ""
    if not e_ok:
        note = f"‖Φ(x) − X‖ does not shrink with (η+ρ)log(1/ηρ): exponent {e_exp:.3g} < {e_need:g} (errors {errs})"
    elif not a_ok:
        note = f"angle(∇L, v₁) does not shrink like ρ: exponent {a_exp:.3g} < {a_need:g} (sines {angles})"
    if note and len(hps) < 3:
        # One local slope between two nearby rungs (rate ratio ≈ 1.27 in quick) still carries the
        # pre-asymptotic terms of an O(·) law: over 50 quick seeds the built-in SAM fell short on 8
        # this way and on none in default. A shortfall is decided on three rungs or more.
        return Evidence(None, values, margin=margin, note=f"undecided on a {len(hps)}-rung ladder: {note}", plot=plot)
    return Evidence(e_ok and a_ok, values, margin=margin, note=note, plot=plot)


CLAIM = Claim(
    id="wen2023.theorem8",
    paper="wen2023",
    ref="Theorem 8 (Theorems 46, 47), §3.2; flow (6)",
    kind="dynamics",
    statement=r"\max_{0\le T\le T_3}\|\Phi(x(\lceil T/(\eta\rho^2)\rceil))-X(T)\|=O((\eta+\rho)\log(1/\eta\rho)),\ "
    r"X'=-\tfrac12P^\top_{X,\Gamma}\nabla\lambda_1(X);\ \angle(\nabla L(x(t)),v_1(\nabla^2L(x(t))))=O(\rho)",
    summary="Full-batch SAM's Φ(x(t)) tracks the Riemannian gradient flow of λ₁ at time ηρ²t; ∇L aligns with v₁.",
    faithful=(
        "restricted",
        "the 4-D toy of Figure 1 only: the family where the flow (6) is computable; the small-(η, ρ) regime sampled "
        "along a ladder",
    ),
    instances=lambda budget: st.fixed_dictionaries({"x_init": toy_starts()}),
    check=check,
    algorithm="sam",
    describe=lambda inst: {"problem": "wen2023_toy", "x_init": [str(v) for v in inst["x_init"]]},
    # Each instance is a ladder of SAM runs against the limit flow (about 2 s in default).
    max_examples=(2, 6, 40),
    constants=CONSTANTS,
)
