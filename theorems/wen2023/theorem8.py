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
The implementation under test runs SAM for ⌈T₃/(ηρ²)⌉ steps on a ladder η = η₀s, ρ = ρ₀s of three
rungs or more (s = 1, 2^{-1/2}, 2^{-1} in quick and default, `_scales`; `ladder` in thorough;
η₀ = 1/50 so ηλ₁ ≤ 0.6; ρ₀/η₀ = 10 fixed: η ln(1/ρ) tightens along the
ladder, ρ/η does not — the theorem asks ρ/η small, and a run with ρ ≪ η needs ⌈T₃/(ηρ²)⌉ ≥ 10⁵
steps: the "sufficiently small" regime is sampled, not proven).
Φ is the converged gradient-flow limit (`flatcheck.numeric.flow.phi`), X the RK4 solution of (6)
(`flatcheck.numeric.riemannian`). Measured: e(s) = max over T_k ∈ {0, T₃/4, …, T₃} of
‖Φ(x(⌈T_k/ηρ²⌉)) − X(T_k)‖ and a(s) = max over k ≥ 1 of sin∠(∇L(x), v₁(∇²L(x))).
Decision rule (O(·) by scaling, with the claimed exponent p, never a fraction of it). Each run is
deterministic, so an exponent has no sampling interval; what it carries is the ladder's
pre-asymptotic terms and the law's log. Its interval runs from the slowest local decay (the slope
between two neighbouring rungs) of e against η+ρ — no credit for the log: e ≤ C(η+ρ)^p implies the
law, as log(1/ηρ) ≥ 1 on the ladder — to the fastest local decay against the whole rate
(η+ρ)log(1/ηρ). The law holds when the interval lies at or above p (the former two-rung point
estimate accepted an exponent of 1.5). It is violated only where the quantity does not shrink
along the ladder (least-squares exponent ≤ 0): the local slopes of a deterministic run are no bound on its
pre-asymptotic terms — around a true exponent 1 they ranged over 0.07–1.8 on 30 starts, and on
quick seed 7 all of them fell below 1 (0.56–0.97) — so a shortfall that still shrinks is undecided,
as is an interval that straddles p. The angle's rate ρ has no log; its interval is that of its
local slopes. A quantity already below its numerical floor (10× the flow integration error + Φ
tolerance, resp. 1e-6) holds.
On the toy the tracking error is ≈ 0.3(η+ρ) (slopes ≈ 0.6–1.6 against η+ρ, higher against the rate,
whose log is loose here), so an exponent 1.5 is undecided unless e decays like (η+ρ)^1.5 between
every pair of rungs; a SAM whose Φ(x) drifts off the flow is refuted (wrong sign, no restore,
unnormalised, per-tensor norm). The angle is loose on the toy: ∂³L[v₁, v₁] has no component across
v₁ in the normal space (∂³L/∂y₀²∂y₁ = 0 for L = F₀y₀² + F₁y₁²), so nothing drives ∇L off v₁ at
order ρ: the measured sin∠ falls like ρ² or faster (local slopes 1.3–7, ≈ 2 on most of 8 starts), an
angle exponent of 1.5 holds on this family, and its mutant survives (tightness 0.97 in default).
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from flatcheck.errors import NonFiniteError
from flatcheck.impl.dynamics import ladder, local_slopes, scaling_exponent, track_limit_flow
from flatcheck.numeric.riemannian import eigen
from flatcheck.problems import toy_starts, wen_toy
from flatcheck.verify import Claim, Constant, Evidence, constant

ETA0, RHO0 = 0.02, 0.2
CONSTANTS = (
    Constant("error_exponent", 1.0, "1 in O((η+ρ)log(1/ηρ))", "larger", "exponent", 0.5, "tracking error"),
    Constant("angle_exponent", 1.0, "1 in O(ρ)", "larger", "exponent", 0.5, "angle between ∇L and v₁"),
)
ANGLE_FLOOR = 1e-6


def _scales(budget) -> list[float]:
    # Three rungs a factor 2^{1/2} apart from s = 1 in quick as in default (125 + 354 + 1000 steps):
    # over 30 starts, quick's former s = √2, 1, 2^{-1/2} accepted an exponent of 1.5 on 3 (its top
    # rung is the most pre-asymptotic), s = 1, 2^{-1/4}, 2^{-1/2} refuted the printed 1 on 2 (its
    # local slopes over a ratio 2^{1/4} are the noisiest); s = 1, 2^{-1/2}, 1/2 did neither.
    return budget.scaled([1.0, 2**-0.5, 0.5], [1.0, 2**-0.5, 0.5], ladder(budget))


def rate(eta: float, rho: float) -> float:
    return (eta + rho) * math.log(1 / (eta * rho))


def check(inst: dict, impl, budget) -> Evidence:
    prob = wen_toy()
    x_init = torch.tensor([float(v) for v in inst["x_init"]], dtype=torch.float64)
    t3 = budget.scaled(0.1, 0.2, 0.3)
    times = [t3 * k / 4 for k in range(5)]
    scales = _scales(budget)
    hps = [{"lr": ETA0 * s, "rho": RHO0 * s} for s in scales]
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
    # The exponent interval of each law: its slowest local decay (between neighbouring rungs) with no
    # credit for a log, to its fastest with the written log (module docstring).
    e_lo = min(local_slopes([ETA0 * s + RHO0 * s for s in scales], errs))
    e_hi = max(local_slopes(rates, errs))
    a_lo, a_hi = min(local_slopes(rhos, angles)), max(local_slopes(rhos, angles))
    e_need = constant(budget, CONSTANTS, "error_exponent")
    a_need = constant(budget, CONSTANTS, "angle_exponent")
    e_ok = _decide(errs[-1] <= floor, e_lo, e_exp, e_need)
    a_ok = _decide(angles[-1] <= ANGLE_FLOOR, a_lo, a_exp, a_need)
    values = {
        "T3": t3,
        "etas": [ETA0 * s for s in scales],
        "rhos": rhos,
        "tracking_error": errs,
        "rate_(eta+rho)log(1/eta rho)": rates,
        "fitted_exponent_error_vs_rate": e_exp,
        "exponent_interval_error": [e_lo, e_hi],
        "angle_sin_max": angles,
        "fitted_exponent_angle_vs_rho": a_exp,
        "exponent_interval_angle": [a_lo, a_hi],
        "numerical_floor": floor,
        # Claimed over fitted exponent (the interval's lower end), above the floor: 1 is tight.
        "tightness": max(
            [
                need / lo
                for need, lo, above in ((e_need, e_lo, errs[-1] > floor), (a_need, a_lo, angles[-1] > ANGLE_FLOOR))
                if above and lo > 0
            ],
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
    # Margin: the lower end of each exponent interval above its claimed value.
    margin = min(
        1.0 if errs[-1] <= floor else e_lo - e_need,
        1.0 if angles[-1] <= ANGLE_FLOOR else a_lo - a_need,
    )
    notes = []
    if e_ok is not True:
        notes.append(
            f"‖Φ(x) − X‖: exponent {e_exp:.3g}, interval [{e_lo:.3g}, {e_hi:.3g}], claimed {e_need:g} (errors {errs})"
        )
    if a_ok is not True:
        notes.append(
            f"angle(∇L, v₁) against ρ: exponent {a_exp:.3g}, interval [{a_lo:.3g}, {a_hi:.3g}], claimed {a_need:g}"
            f" (sines {angles})"
        )
    holds = False if False in (e_ok, a_ok) else (None if None in (e_ok, a_ok) else True)
    note = "; ".join(notes)
    if holds is None:
        note = f"undecided: {note}"
    return Evidence(holds, values, margin=margin, note=note, plot=plot)


def _decide(below_floor: bool, lower: float, fitted: float, need: float) -> bool | None:
    """A decay law with exponent interval [lower, …] and least-squares exponent `fitted`: holds above
    the claimed exponent, violated where the quantity does not shrink along the ladder (fitted ≤ 0),
    otherwise undecided (module docstring)."""
    if below_floor or lower >= need:
        return True
    return False if fitted <= 0 else None


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
    # Each instance is a ladder of SAM runs against the limit flow (about 0.5 s in default).
    max_examples=(2, 6, 40),
    constants=CONSTANTS,
)
