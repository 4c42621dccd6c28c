r"""ahn2024.lemma3 — Lemma 3 (§3.2) / second half of Lemma 10 (Appendix B, proof D.6).

    "Lemma 3. Under the same setting as Lemma 2, assume now that ‖∂Φ(Φ(x_t))∇tr̄(Φ(x_t))‖ ≤ √ε.
     Then we have E tr̄(Φ(x_{t+1})) − tr̄(Φ(x_t)) ≤ O(δ⁴ε³)."
    (Lemma 2's setting: η = O(δε), ρ = O(δ√ε), ε₀ = O(δ^{1.5}ε), ‖∇f(x_t)‖ ≤ ε₀.)

Decision rule (an O(·) bound in two variables, checked by scaling). Families where Φ is in closed form
and E over g ~ Unif(S^{d−1}) is an exact quadrature: Example 1 (d = 2, trapezoid rule over the angle)
and Example 1 × one or two blocks (u_b v_b − y_b)² at their flat minimum (√y_b, √y_b) (d = 4, 6; the
separated disc quadrature of `_sphere`, see `lemma2`). Take x_t = x* ∈ X* with ‖∇_t‖ = θ√ε (θ ∈ [0, 1];
the first block at (t, 1/t), t by bisection; flat blocks add nothing to ∇_t), η = aδε, ρ = bδ√ε, along
ε_k = 2^{−k/2}ε₀ at fixed δ and δ_k = 2^{−k/4}δ₀ at fixed ε. θ is fixed (0: a flat minimum; ¼, 1), or
tracked, θ_k ∝ √ε_k resp. δ_k² (‖∇_t‖ ∝ ρ², where the decrease ½ηρ²‖∇_t‖² does not outgrow the increase).
The test reads the signed change: a path that ends in a decrease (below −round-off) satisfies the
bound; otherwise the increases of its trailing run must be of order ≥ 3 in ε and ≥ 4 in δ (local order
on the log-log scale with the margin ½ of `flatcheck.stats.fit_order`). An instance whose change is
within round-off at every level exercises nothing and is out of scope. Each instance reports whether an
increase was fitted (`exercised`) and its largest EΔ/(δ⁴ε³) (`tightest_ratio`).
What it finds: increases occur at and near flat minima (θ = 0 and small tracked θ) and are of order ε⁴
and δ⁶ — O(δ⁴ε³) holds with room δ²ε (largest EΔ/(δ⁴ε³) seen ≈ 0.025, at the largest δ, ε): the
η²ρ² term of D.6 bounds ‖Φ(x⁺) − Φ(x)‖² by ‖v‖² = O(ρ²), while near X* its tangent part is O(ρ²), since
∂Φ∇²f = 0 on X*. The order mutants (ε⁴, δ⁵) therefore survive on these families — and they are
themselves true on every admissible instance, off X* too (‖∇f(x_t)‖ ≤ ε₀), so no family can kill them.
Why: ∂Φ(x) maps into the tangent space at Φ(x), so the first-order change is
−η⟨∂Φ(x)ᵀ∇_t(Φ(x)), E v_t⟩ with E v_t = ½ρ²Proj⊥∇tr̄(x) + O(ρ⁴) (eq5: even in ρ), i.e.
−½ηρ²(‖∇_t‖² + O(ε₀‖∇_t‖) + O(ρ²‖∇_t‖)); the second-order term is η²ρ²(O(‖∇_t‖) + O(ε₀²)) (the
normal part of ∂²Φ[n, n] is O(‖∂Φ(x)n‖²) = O(ε₀²)) plus η²O(ρ²ε₀² + ρ⁴) from the tangent part of v.
Maximising over ‖∇_t‖ ∈ [0, √ε] against the −½ηρ²‖∇_t‖² leaves O(ηρ²ε₀² + η³ρ² + η²ρ⁴ + ηρ⁶) =
O(δ⁵ε⁴) under η = O(δε), ρ = O(δ√ε), ε₀ = O(δ^{1.5}ε): the printed δ⁴ε³ is loose by δε everywhere.
Implementation side: at the first level the Monte Carlo mean of the implementation's tr̄(Φ) change must
contain the exact value.
No symbolic part: the statement is an O(δ⁴ε³) bound without a coefficient; the exact expectation over the
sphere is a quadrature, decided by the fitted orders.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from flatcheck.impl.trace_change import mean_trace_change
from flatcheck.problems.setting1 import diagonal_network
from flatcheck.stats import fit_order
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._sphere import exact_mean_change

LEVELS = 10
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


def problem_for(blocks: tuple = ()):
    """Example 1 followed by flat blocks (u_b v_b − y_b)² at (√y_b, √y_b) (d = 2 + 2·len(blocks))."""
    return diagonal_network([1] * (1 + len(blocks)), [1] + list(blocks))


def lemma_points(targets: list[float], blocks: tuple = ()) -> torch.Tensor:
    """Rows x* ∈ X* with ‖∇_t‖ = target: the first block at (t, 1/t), the others at their flat minimum
    (√y_b, √y_b), where they add nothing to ∇_t. tr̄ = ‖x‖²/m² on m blocks, so the first block's
    Example-1 norm must be m²·target."""
    m = 1 + len(blocks)
    ts = [point_with_manifold_gradient(m * m * target) for target in targets]
    roots = [math.sqrt(y) for y in blocks]
    return torch.tensor([[t, *roots, 1 / t, *roots] for t in ts], dtype=torch.float64)


def changes(inst: dict, eps: list[float], delta: list[float], thetas: list[float]):
    """(E Δtr̄(Φ) exact, quadrature error, points) at ‖∇_t‖ = θ_k√ε_k, η = aδε, ρ = bδ√ε, level by level."""
    blocks = tuple(inst.get("blocks", ()))
    x = lemma_points([th * math.sqrt(e) for th, e in zip(thetas, eps)], blocks)
    e = torch.tensor(eps, dtype=torch.float64)
    d = torch.tensor(delta, dtype=torch.float64)
    mean, err = exact_mean_change(problem_for(blocks), x, inst["a"] * d * e, inst["b"] * d * torch.sqrt(e))
    return mean, err, x


def upper_order(seq: list[float], change: torch.Tensor, order: float, floor: float):
    """The signed order test of an O(·) upper bound on an increase along one path. A change that ends in a
    decrease (below −floor) satisfies it (None). Else the trailing levels without a decrease are fitted:
    increases above the floor must be of the claimed order; those within ±floor count as 0."""
    up = (change > -floor).tolist()
    run = 0
    while run < len(up) and up[len(up) - 1 - run]:
        run += 1
    if run == 0:
        return None
    return fit_order(seq[-run:], change[-run:].clamp(min=0).tolist(), order, floor=floor)


def make_check(eps_order: float, delta_order: float):
    def check(inst: dict, impl, budget) -> Evidence:
        printed = {"eps_order": eps_order, "delta_order": delta_order}
        e_order, d_order = constant(budget, printed, "eps_order"), constant(budget, printed, "delta_order")
        theta, track, a, b = inst["theta"], inst.get("track", 0), inst["a"], inst["b"]
        eps0, delta0 = inst["eps0"], inst["delta0"]
        # Steps of 2^{−1/2} in ε and 2^{−1/4} in δ: the increase falls like ε⁴ and δ⁶, so coarser ladders leave
        # too few levels above the round-off floor.
        eps_seq = [eps0 * 2.0 ** (-k / 2) for k in range(LEVELS)]
        delta_seq = [delta0 * 2.0 ** (-k / 4) for k in range(LEVELS)]
        # track = 1 keeps ‖∇_t‖ = θ√ε ∝ ρ² ∝ δ²ε, where the decrease ½ηρ²‖∇_t‖² (∝ ε⁴, δ⁷) does not outgrow
        # the increase at a flat minimum (∝ ε⁴δ⁶), so the change keeps its sign; track = 0 fixes θ.
        th_e = [theta * (e / eps0) ** (track / 2) for e in eps_seq]
        th_d = [theta * (dl / delta0) ** (2 * track) for dl in delta_seq]
        ch_e, q1, x_eps = changes(inst, eps_seq, [delta0] * LEVELS, th_e)
        ch_d, q2, _ = changes(inst, [eps0] * LEVELS, delta_seq, th_d)
        # Round-off of a difference of two values of tr̄ (x near the flat blocks' (√y, √y)), plus quadrature.
        scale = float(x_eps.pow(2).sum(-1).max())
        floor = 64 * torch.finfo(torch.float64).eps * scale + float(max(q1.max(), q2.max()))
        fit_e = upper_order(eps_seq, ch_e, e_order, floor)
        fit_d = upper_order(delta_seq, ch_d, d_order, floor)
        bound_e = torch.tensor(eps_seq, dtype=torch.float64) ** 3 * delta0**4
        bound_d = eps0**3 * torch.tensor(delta_seq, dtype=torch.float64) ** 4
        ratios = torch.cat([ch_e / bound_e, ch_d / bound_d])
        values = {
            "d": 2 + 2 * len(inst.get("blocks", ())),
            "eps": eps_seq,
            "exact_change_vs_eps": ch_e.tolist(),
            "order_in_eps": fit_e.local_orders if fit_e else "decrease at the smallest scales",
            "delta": delta_seq,
            "exact_change_vs_delta": ch_d.tolist(),
            "order_in_delta": fit_d.local_orders if fit_d else "decrease at the smallest scales",
            "exercised": any(fit is not None and bool(fit.local_orders) for fit in (fit_e, fit_d)),
            # EΔ/(δ⁴ε³): the O(·) constant the instance needs; its largest value over the levels.
            "tightest_ratio": float(ratios.max()),
        }
        if bool((torch.cat([ch_e, ch_d]).abs() <= floor).all()):
            return Evidence(None, values, out_of_scope="no change above round-off at any level: nothing exercised")
        for fit, name in ((fit_e, "ε"), (fit_d, "δ")):
            if fit is None:
                continue
            if not fit.decided:
                return Evidence(None, values, note=f"order in {name}: {fit.note}")
            if not fit.reaches:
                return Evidence(False, values, note=f"the increase is not O(δ⁴ε³): order in {name} {fit.note}")
        prob = problem_for(tuple(inst.get("blocks", ())))
        hp = {"lr": a * delta0 * eps0, "rho": b * delta0 * math.sqrt(eps0), "eps0": float("inf")}
        n = budget.draws(impl)
        est, half = mean_trace_change(impl, prob, x_eps[0], hp, n, budget.seed, budget.alpha)
        exact = float(ch_e[0])
        tol = half + 1e3 * torch.finfo(torch.float64).eps * (1 + abs(exact))
        err = abs(est - exact)
        values.update(implementation_mean_change=est, interval_halfwidth=half, draws=n)
        ev = Evidence(err <= tol, values, margin=(tol - err) / tol)
        if not ev.holds:
            ev.note = f"the implementation's mean change {est:.4g} ± {half:.2g} misses the exact {exact:.4g}"
        return ev

    return check


def instances(budget) -> st.SearchStrategy[dict]:
    common = {
        "a": st.sampled_from([0.25, 1.0]),
        "b": st.sampled_from([0.25, 1.0]),
        "eps0": st.sampled_from([0.05, 0.01]),
        "delta0": st.sampled_from([0.5, 0.25]),
        "blocks": st.lists(st.sampled_from([0.25, 1.0, 4.0]), max_size=2),
    }
    # θ = ‖∇_t‖/√ε at the first level. Fixed θ: 0 (a flat minimum: an increase, of order ε⁴δ⁶) or θ ≥ ¼ (a
    # decrease). Small θ tracked (‖∇_t‖ ∝ η): an increase along both paths. Between the two (small fixed
    # θ) the change crosses 0 inside the levels, where no single order is measurable.
    return st.one_of(
        st.fixed_dictionaries({**common, "theta": st.sampled_from([0.0, 0.25, 1.0]), "track": st.just(0)}),
        st.fixed_dictionaries({**common, "theta": st.sampled_from([0.003, 0.01]), "track": st.just(1)}),
    )


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
        "Example 1 (d = 2) and Example 1 × one or two flat blocks (d = 4, 6), x_t ∈ X*: the families where Φ is in "
        "closed form and the mean over g ∈ S^{d−1} is an exact quadrature",
    ),
    instances=instances,
    check=make_check(3.0, 4.0),
    algorithm="rsp",
    describe=lambda inst: dict(inst),
    constants=CONSTANTS,
)
