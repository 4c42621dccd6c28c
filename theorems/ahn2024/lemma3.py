r"""ahn2024.lemma3 — Lemma 3 (§3.2) / second half of Lemma 10 (Appendix B, proof D.6).

    "Lemma 3. Under the same setting as Lemma 2, assume now that ‖∂Φ(Φ(x_t))∇tr̄(Φ(x_t))‖ ≤ √ε.
     Then we have E tr̄(Φ(x_{t+1})) − tr̄(Φ(x_t)) ≤ O(δ⁴ε³)."
    (Lemma 2's setting: η = O(δε), ρ = O(δ√ε), ε₀ = O(δ^{1.5}ε), ‖∇f(x_t)‖ ≤ ε₀.)

Decision rule (an O(·) bound in two variables, checked by scaling). On Example 1 (Φ in closed form,
expectation over g ~ Unif(S¹) exact by the trapezoid rule) take x_t = x* ∈ X* with
‖∇_t‖ = θ√ε (θ ∈ [0, 1]; x* found by bisection along X* = {(t, 1/t)}), η = aδε, ρ = bδ√ε. The
increase max(EΔ, 0) must be of order ≥ 3 in ε along ε_k = 2^{−k}ε₀ at fixed δ, and of order ≥ 4 in
δ along δ_k = 2^{−k/2}δ₀ at fixed ε (local order on the log-log scale with the margin ½ of
`flatcheck.stats.fit_order`; no increase at all satisfies it). Implementation side: at the first
level the Monte Carlo mean of the implementation's tr̄(Φ) change must contain the exact value.
No symbolic part: the statement is an O(δ⁴ε³) bound without a coefficient; the exact expectation over the
circle is a quadrature, decided by the fitted orders.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from flatcheck.impl.trace_change import mean_trace_change
from flatcheck.numeric.flatness import circle_mean_trace_change
from flatcheck.problems.setting1 import diagonal_network
from flatcheck.stats import fit_order
from flatcheck.verify import Claim, Constant, Evidence, constant

LEVELS = 8
CONSTANTS = (
    Constant("eps_order", 3.0, "3 in O(δ⁴ε³)", "larger", "exponent", 1.0, "the order in ε"),
    Constant("delta_order", 4.0, "4 in O(δ⁴ε³)", "larger", "exponent", 1.0, "the order in δ"),
)


def manifold_gradient_norm(t: float) -> float:
    """‖∂Φ(x*)∇tr̄(x*)‖ at x* = (t, 1/t), t > 0 (closed form, see ahn2024.example1.phi's derivation)."""
    return abs(2 * (t * t - 1) * (t * t + 1) / (t**4 + 1)) * math.hypot(t, 1 / t)


def point_with_manifold_gradient(target: float) -> float:
    """t ≥ 1 with ‖∇_t‖ = target (bisection; the norm increases from 0 at t = 1)."""
    lo, hi = 1.0, 1.0
    while manifold_gradient_norm(hi) < target:
        hi *= 2
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if manifold_gradient_norm(mid) < target else (lo, mid)
    return (lo + hi) / 2


def increases(theta: float, a: float, b: float, eps: list[float], delta: list[float]) -> tuple[torch.Tensor, ...]:
    prob = diagonal_network([1], [1])
    ts = [point_with_manifold_gradient(theta * math.sqrt(e)) for e in eps]
    x = torch.tensor([[t, 1 / t] for t in ts], dtype=torch.float64)
    e = torch.tensor(eps, dtype=torch.float64)
    d = torch.tensor(delta, dtype=torch.float64)
    return circle_mean_trace_change(prob, x, a * d * e, b * d * torch.sqrt(e)), x


def make_check(eps_order: float, delta_order: float):
    def check(inst: dict, impl, budget) -> Evidence:
        printed = {"eps_order": eps_order, "delta_order": delta_order}
        e_order, d_order = constant(budget, printed, "eps_order"), constant(budget, printed, "delta_order")
        theta, a, b, eps0, delta0 = inst["theta"], inst["a"], inst["b"], inst["eps0"], inst["delta0"]
        eps_seq = [eps0 * 2.0**-k for k in range(LEVELS)]
        delta_seq = [delta0 * 2.0 ** (-k / 2) for k in range(LEVELS)]
        (in_eps, q1), x_eps = increases(theta, a, b, eps_seq, [delta0] * LEVELS)
        (in_delta, q2), _ = increases(theta, a, b, [eps0] * LEVELS, delta_seq)
        # Round-off of a difference of two values of tr̄ ≈ 2 (x near (1, 1)), plus the quadrature error.
        floor = 64 * torch.finfo(torch.float64).eps * 4 + float(max(q1.max(), q2.max()))
        fit_e = fit_order(eps_seq, in_eps.clamp(min=0).tolist(), e_order, floor=floor)
        fit_d = fit_order(delta_seq, in_delta.clamp(min=0).tolist(), d_order, floor=floor)
        values = {
            "eps": eps_seq,
            "exact_change_vs_eps": in_eps.tolist(),
            "order_in_eps": fit_e.local_orders,
            "delta": delta_seq,
            "exact_change_vs_delta": in_delta.tolist(),
            "order_in_delta": fit_d.local_orders,
        }
        for fit, name in ((fit_e, "ε"), (fit_d, "δ")):
            if not fit.decided:
                return Evidence(None, values, note=f"order in {name}: {fit.note}")
            if not fit.reaches:
                return Evidence(False, values, note=f"the increase is not O(δ⁴ε³): order in {name} {fit.note}")
        prob = diagonal_network([1], [1])
        hp = {"lr": a * delta0 * eps0, "rho": b * delta0 * math.sqrt(eps0), "eps0": float("inf")}
        n = budget.draws(impl)
        est, half = mean_trace_change(impl, prob, x_eps[0], hp, n, budget.seed, budget.alpha)
        exact = float(in_eps[0])
        tol = half + 1e3 * torch.finfo(torch.float64).eps * (1 + abs(exact))
        err = abs(est - exact)
        values.update(implementation_mean_change=est, interval_halfwidth=half, draws=n)
        ev = Evidence(err <= tol, values, margin=(tol - err) / tol)
        if not ev.holds:
            ev.note = f"the implementation's mean change {est:.4g} ± {half:.2g} misses the exact {exact:.4g}"
        return ev

    return check


CLAIM = Claim(
    id="ahn2024.lemma3",
    paper="ahn2024",
    ref="Lemma 3, §3.2; Lemma 10 (second case), Appendix B and D.6",
    kind="expectation",
    statement=r"\|\partial\Phi(\Phi(x_t))\nabla\bar{\mathrm{tr}}(\Phi(x_t))\|\le\sqrt\epsilon\Rightarrow"
    r"\mathbb E\,\bar{\mathrm{tr}}(\Phi(x_{t+1}))-\bar{\mathrm{tr}}(\Phi(x_t))\le\mathcal O(\delta^4\epsilon^3)",
    summary="Where the manifold gradient is below √ε, an RSP step raises E tr̄(Φ) by at most O(δ⁴ε³).",
    faithful=(
        "restricted",
        "Example 1 only (d = 2): the family where Φ is in closed form and the mean over g ∈ S¹ is an exact 1-D "
        "integral",
    ),
    instances=lambda budget: st.fixed_dictionaries(
        {
            "theta": st.sampled_from([0.0, 0.25, 0.5, 1.0]),
            "a": st.sampled_from([0.25, 1.0]),
            "b": st.sampled_from([0.25, 1.0]),
            "eps0": st.sampled_from([0.05, 0.01]),
            "delta0": st.sampled_from([0.5, 0.25]),
        }
    ),
    check=make_check(3.0, 4.0),
    algorithm="rsp",
    describe=lambda inst: dict(inst),
    constants=CONSTANTS,
)
