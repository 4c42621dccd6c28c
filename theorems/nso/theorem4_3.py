r"""nso.theorem4_3 — Theorem 4.3, eq. (6), §4 (NSO paper): the convergence rate of Algorithm 1.

    "Given Assumptions 4.1 and 4.2, let P be a distribution that is symmetric at zero. There exists
     a fixed learning rate η < C^{−1} such that if we run Algorithm 1 with η_i = η for all i,
     arbitrary number of perturbations k, for T steps, the algorithm returns W_t, where t is a
     random integer between 1, 2, …, T, such that in expectation over the randomness of W_t:
         E[‖∇F(W_t)‖²] ≤ √(2CD²(σ² + C²H(P))/(kT)) + 2CD²/T,"   (6)   H(P) = E‖U‖².

Families with every constant exact (`flatcheck.problems.nso_families`): C (gradient Lipschitz,
attained), σ² (oracle variance, attained), D² = F(W₀) − min F (equality), H(P) = dσ_u².
The implementation runs T steps from W₀ in many independent runs; E‖∇F(W_t)‖² with t uniform on
1 … T is the mean over runs of the per-run average, with a normal interval.
Step sizes: the one the proof prescribes (Appendix B.1; case 1, Δ = (σ² + C²H)/k ≥ 2CD²/T:
η = √(2D²/(CΔT)); case 2: the proof's (39) takes η up to 1/C, used as (1 − 2⁻²⁰)/C) and, for
flatcheck's batched implementations, the grid η = 2^{−j}(1 − 2⁻²⁰)/C, j = 0 … 3.
Decision rule ("there exists η"): holds when the bound is not exceeded (lower interval end ≤
bound + round-off) at the prescribed η or at some grid η; falsified when it is exceeded at all of
them. The T-scaling is checked by running the prescribed η also at 4T (both must satisfy (6));
the fitted exponent of E‖∇F‖² in T is reported beside the bound's. The error rate is split
evenly over the runs.

Worst case searched, not only sampled: on a quadratic with noise Δ = (σ² + C²H)/k the proof's η
makes E‖∇F‖² ≈ D²/(ηT) + CηΔ/2, the first term of (6), when the noise dominates (Δ ≫ CD²/T) and
the run is long enough to forget W₀; otherwise the 2CD²/T term and the transient leave slack.
Measured on these families at T = 8 and 16 (W₀ scaled by 2^−j, j = 0 … 9), the smallest ratio over
η peaks where C·D² ≈ Δ/T (0.48 against 0.03–0.12 from the drawn start on the tightest instances).
So every drawn instance is also run from the start W₀/2^j (any W₀ is admissible) whose C·D² is
nearest Δ/T on a log scale, and the claim holds only if (6) holds from both starts; the tightness
is the larger of the two, each start with half the error rate. From the steered start the best η
at T is searched ((1 − 2⁻²⁰)/C and the proof's η × 2^{±½}, 2^{±1}, `step_sizes`); from the drawn
start the proof's η runs at T and 4T (the T-scaling) and the grid only when it fails there. The
first instance, and one in four after it, is an edge run (`edge_quadratic_runs`: φ = ½CW² in one
coordinate, the paired oracle, P of σ_u = 0 first so the C²H(P) term adds no slack, T = 64 in default).
How tight (6) can be here: the bound's noise term is √(2CD²σ²/(kT)), approached by SGD whose step
noise has variance σ²/k. NSO's step noise is that with the paired oracle (one example per pair
W ± U_j, the proof's g_z: `ORACLES`), and about σ²/(2k) with a fresh example per evaluation, whose
best ratio stays near 1/√2 (0.53 at T = 16, 0.59 at 32, 0.62 at 64, 0.64 at 128; k = 1, best of
13 step sizes). The paired oracle is the worst case for (6) (more step noise, the same bound): the
edge runs use it and the drawn instances draw it first. Measured tightness with it (the check's,
k = 1, default budget): 0.81 at T = 16, 0.85 at 32, 0.89 at 64, 0.93 at 128; in quick (T = 16, 256
runs) 0.75–0.82 over k ∈ {1, 2, 4}. So the ×½ mutant of the declared scale is killed in quick and
default, each on its first edge run.
A user's class is stepped one draw at a time (16 runs per η, each step a Python call): it runs
from the steered start only, at the proof's η at T — where (6) is tightest among the starts — not
from the drawn start, at 4T or over the grid.
"""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import strategies as st

from flatcheck.impl.dynamics import chain_count
from flatcheck.impl.nso_readback import run_paths, unsupported_noise
from flatcheck.problems.nso_families import ORACLES, NSOInstance, edge_quadratic_runs, nso_instances
from flatcheck.stats import mean_interval
from flatcheck.verify import Claim, Constant, Evidence, constant

SHRINK = 1 - 2.0**-20  # η strictly below 1/C, as the theorem requires
CONSTANTS = (Constant("scale", 1.0, "the right-hand side of (6), ×1", "smaller", text="the rate bound"),)


def bound(inst: NSOInstance, steps: int) -> float:
    c, d2 = inst.C, inst.D2()
    return math.sqrt(2 * c * d2 * (inst.sigma2 + c**2 * inst.H) / (inst.k * steps)) + 2 * c * d2 / steps


def prescribed_lr(inst: NSOInstance, steps: int) -> float:
    c, d2 = inst.C, inst.D2()
    delta = (inst.sigma2 + c**2 * inst.H) / inst.k
    if delta >= 2 * c * d2 / steps and delta > 0:
        return min(math.sqrt(2 * d2 / (c * delta * steps)), 1 / c) * SHRINK  # case 1, (37)
    return SHRINK / c  # case 2, (39)


def mean_grad2(impl, inst: NSOInstance, lr: float, steps: int, n: int, seed: int, alpha: float):
    path = run_paths(impl, inst.problem, inst.w0_tensor(), inst.hp(lr), n, steps, seed)
    g = inst.grad_F(path[:, 1:])
    per_run = (g * g).sum(-1).mean(-1)  # t uniform on 1 … T
    mean, half = mean_interval(per_run[:, None], alpha)
    return float(mean[0]), float(half[0]), float(per_run.abs().max())


def tight_start(inst: NSOInstance) -> NSOInstance | None:
    """The instance from W₀/2^j, j = 1 … 12, whose C·D² is nearest Δ/T on a log scale (where (6) is
    tightest on these families); None without noise (Δ = 0: no regime to steer to)."""
    delta = (inst.sigma2 + inst.C**2 * inst.H) / inst.k
    if delta <= 0:
        return None
    starts = [replace(inst, w0=[v / 2**j for v in inst.w0]) for j in range(1, 13)]
    starts = [s for s in starts if s.D2() > 0]
    steps = inst.scalars["T"]
    return min(starts, key=lambda s: abs(math.log(inst.C * s.D2() * steps / delta)), default=None)


def check(inst: NSOInstance, impl, budget) -> Evidence:
    if why := unsupported_noise(impl, inst):
        return Evidence(None, out_of_scope=why)
    tight = tight_start(inst)
    if tight is None:
        return check_from(inst, impl, budget, search=True)
    if impl.batched_step is None:
        # A user's class, stepped one draw at a time: the steered start alone, where (6) is tightest.
        ev = check_from(tight, impl, budget, seed_offset=1000)
        ev.values = {**ev.values, "w0_steered": [str(v) for v in tight.w0]}
        return ev
    drawn = check_from(inst, impl, budget, 0.5)
    steered = check_from(tight, impl, budget, 0.5, 1000, search=True)
    worst = max((drawn, steered), key=lambda e: e.values["tightness"])
    failed = [e for e in (drawn, steered) if e.holds is False]
    ev = failed[0] if failed else worst
    ev.values = {**ev.values, "tightness": worst.values["tightness"], "w0_steered": [str(v) for v in tight.w0]}
    ev.values["tightness_drawn_start"] = drawn.values["tightness"]
    ev.values["tightness_steered_start"] = steered.values["tightness"]
    ev.margin = min(drawn.margin, steered.margin)
    return ev


def step_sizes(inst: NSOInstance, steps: int, search: bool) -> list[float]:
    """The grid η = 2^{−j}(1 − 2⁻²⁰)/C, j = 0 … 3; with `search` instead (1 − 2⁻²⁰)/C and the
    proof's η × 2^{j/2}, j = ±1, ±2, below 1/C: on a 1-d noisy quadratic E‖∇F‖² is smooth with one
    minimum in η, which lay within 2^{±½} of the proof's η at every T ∈ {16, 32, 128}, k ∈ {1, 2}
    and start measured (E‖∇F‖² at the best of 13 quarter-octave η within 5% of the proof's), or
    at the largest η where the proof's is (1 − 2⁻²⁰)/C; so this grid brackets it."""
    if not search:
        return [2.0**-j * SHRINK / inst.C for j in range(4)]
    eta = prescribed_lr(inst, steps)
    return [SHRINK / inst.C] + [eta * 2.0 ** (j / 2) for j in (-2, -1, 1, 2) if eta * 2.0 ** (j / 2) * inst.C < 1]


def check_from(
    inst: NSOInstance, impl, budget, share: float = 1.0, seed_offset: int = 0, search: bool = False
) -> Evidence:
    """(6) from the instance's own start; `share` of the error rate, seeds offset by `seed_offset`.
    A batched implementation runs the proof's η at T and, unless `search` asks for the best η at T,
    at 4T, then the grid η (`step_sizes`) — without `search` only when the proof's η fails; a
    user's class (stepped one draw at a time) the proof's η at T only."""
    steps = inst.scalars["T"]
    batched = impl.batched_step is not None
    n = chain_count(impl, budget.scaled(256, 512, 4096), 16)
    runs = [(prescribed_lr(inst, steps), steps)]
    if batched and not search:
        runs.append((prescribed_lr(inst, 4 * steps), 4 * steps))
    pair = len(runs)  # the proof's η: at T, and at 4T
    if batched:
        runs += [(lr, steps) for lr in step_sizes(inst, steps, search)]
    # The error rate is split over every run that may be made, whether or not the grid is reached.
    alpha = share * budget.alpha / len(runs)
    eps = 1e3 * 2.0**-52
    scale_ = constant(budget, CONSTANTS, "scale")
    results = []
    for i, (lr, t) in enumerate(runs):
        if i == pair and not search and all(r["slack"] >= -r["tol"] for r in results):
            break  # the proof's η holds at T and 4T: the existence of η is shown
        mean, half, scale = mean_grad2(impl, inst, lr, t, n, budget.seed + seed_offset + i, alpha)
        b = scale_ * bound(inst, t)
        results.append(
            {
                "eta": lr,
                "T": t,
                "E_grad2": mean,
                "halfwidth": half,
                "bound": b,
                "slack": b - (mean - half),
                "tol": eps * (scale + b),
            }
        )
    ok = [r["slack"] >= -r["tol"] for r in results]
    prescribed_ok = all(ok[:pair])
    holds = prescribed_ok or any(ok[pair:])
    best = min(results[pair:] or results[:1], key=lambda r: r["E_grad2"])
    e_t = results[0]["E_grad2"]
    values = {
        "bound_T": results[0]["bound"],
        "E_grad2_prescribed": e_t,
        "eta_prescribed": results[0]["eta"],
        "E_grad2_best_grid": best["E_grad2"],
        "eta_best_grid": best["eta"],
        "ratio_prescribed_to_bound": e_t / results[0]["bound"] if results[0]["bound"] > 0 else None,
        "C": inst.C,
        "D2": inst.D2(),
        "sigma2": inst.sigma2,
        "H_P": inst.H,
        "k": inst.k,
        "runs_per_eta": n,
        "runs": results,
    }
    if pair == 2:
        e_4t = results[1]["E_grad2"]
        values["fitted_T_exponent"] = math.log(e_4t / e_t) / math.log(4) if e_t > 0 and e_4t > 0 else None
        values["bound_T_exponent"] = math.log(results[1]["bound"] / results[0]["bound"]) / math.log(4)
    margin = max(r["slack"] / max(r["bound"], r["tol"]) for r in results)
    # "There exists η": the statement is as tight as its best step size tried (the pair T, 4T at the
    # proof's η; where the grid was not reached, the proof's η is the best known).
    ratios = [r["E_grad2"] / r["bound"] if r["bound"] > 0 else math.inf for r in results]
    values["tightness"] = min([max(ratios[:pair])] + ratios[pair:])
    note = (
        ""
        if holds
        else (
            f"E‖∇F(W_t)‖² exceeds the bound {results[0]['bound']:.6g} at the proof's η "
            f"({e_t:.6g}) and at every grid η (best {best['E_grad2']:.6g})"
        )
    )
    if holds and not prescribed_ok:
        note = "the bound fails at the proof's η but holds at a grid η"
    return Evidence(holds, values, margin=margin, note=note)


def instances(budget) -> st.SearchStrategy[NSOInstance]:
    """The edge runs first (a quadratic in one coordinate, the paired oracle; `check` then steers
    W₀), then the families at large (three in four of the later examples), either oracle, the paired
    one first. The edge horizon is T = 64 from default on (16 in quick): (6)'s ratio there grows
    with T (0.81 at T = 16, 0.89 at 64, 0.93 at 128) and the run-to-run spread of the T-average
    shrinks, so the ×½ mutant's excess is decided by a wider margin."""
    horizons = budget.scaled([8, 16], [8, 32], [8, 32, 128])
    edge = edge_quadratic_runs({"T": st.just(budget.scaled(16, 64, 128))}, oracle=st.just("paired"))
    drawn = nso_instances(scalars={"T": st.sampled_from(horizons)}, oracle=st.sampled_from(ORACLES))
    return st.integers(0, 3).flatmap(lambda i: drawn if i else edge)


CLAIM = Claim(
    id="nso.theorem4_3",
    paper="nso",
    ref="Theorem 4.3, eq. (6), §4 (proof: Appendix B.1)",
    kind="rate",
    statement=r"\exists\,\eta<C^{-1}:\ \mathbb E\|\nabla F(W_t)\|^2\le"
    r"\sqrt{\frac{2CD^2(\sigma^2+C^2H(\mathcal P))}{kT}}+\frac{2CD^2}{T},\quad t\sim\mathrm{Unif}\{1,\dots,T\}",
    summary="NSO with a suitable constant step reaches E‖∇F‖² ≤ √(2CD²(σ²+C²H)/(kT)) + 2CD²/T.",
    faithful=(
        "restricted",
        "quadratics and separable softplus losses only: the families whose C, σ², D² and H(P) are exact",
    ),
    instances=instances,
    check=check,
    algorithm="nso",
    describe=NSOInstance.describe,
    constants=CONSTANTS,
)
