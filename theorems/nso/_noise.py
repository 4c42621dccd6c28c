"""The perturbations U an NSO or WP-SGD implementation draws, read back from where its steps
evaluate the loss, and exact, distribution-free tests of "U ~ P i.i.d." (NSO paper, Algorithm 1
line 3; §2 for WP-SGD). Shared by nso.alg1_noise and nso.wp_noise.

A step of Algorithm 1 evaluates g at W ± U_j (j = 1…k) and WP-SGD's at W + U, so the closure's
evaluation points (`Implementation.path(..., points=True)`, read by `flatcheck.impl.readback`) show
every U a step drew, even on a quadratic, where the step itself is the same whatever U is. Points at
W itself or where the step went (a logged loss) and repeated points are not draws. The tests use
only what P's symmetry and independence fix exactly, whatever the law (the coins:
`flatcheck.stats.coins`):
- coordinates: U's coordinates are independent and symmetric, so sign(U_a·U_b) is a fair coin for
  every pair a < b — an exact two-sided binomial test per pair (noise shared by two tensors, by a
  matrix's rows or columns, or by param groups makes the coin always heads);
- fresh: draws j and j + 1 of a step, and the first draws of two consecutive steps, are independent,
  so sign(U_aU_{a+1})·sign(U′_aU′_{a+1}) is a fair coin, independent over a and over the edges of
  that tree of draws — one exact binomial test (one draw for all k, noise kept across steps, an
  antithetic step: always heads). Both are unchanged by U → −U, the sign NSO's pair leaves open;
- law: the |U_a|/σ of all draws and coordinates are i.i.d. with |Z|'s law under P (Z = U/σ of unit
  variance, `flatcheck.algorithms.sampling.symmetric_noise`): a Kolmogorov–Smirnov test against its
  continuous distribution function (Gaussian, Laplace, uniform), |Z| = 1 up to round-off for
  Rademacher (a wrong σ, σ² for σ, another law);
- repeats: a fresh optimizer's first 602 steps are read too (one chain, k = 1, the instance's law or
  Gaussian for Rademacher, whose draws repeat by chance), and no U of a law with a density may equal
  another, or its negative, to round-off (probability 0: a bank of draws cycled, a draw kept and used
  again many steps later).
Levels α/3 each; the pairs split theirs (Bonferroni); repeats is exact (it holds or it does not).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from hypothesis import strategies as st

from flatcheck.algorithms import NOISES
from flatcheck.impl.nso_readback import noise_hyper
from flatcheck.impl.protocol import LAYOUT, harness_keys
from flatcheck.impl.readback import ROUNDOFF, run_draws, run_repeats
from flatcheck.problems import LAYOUTS, PointInstance, iterations, layouts, log_uniform, point_instances, quadratics
from flatcheck.stats.coins import coordinates_test, fresh_test
from flatcheck.verify import Constant, Evidence, constant

# The declared constant of both claims: σ's coefficient, moved by `flatcheck mutate`.
SIGMA = Constant("sigma", 1.0, "σ in U ~ P, std σ", "exact", text="the perturbation's scale")


def _abs_cdf(law: str) -> Callable[[Any], Any]:
    """The distribution function of |Z|, Z = U/σ of unit variance under the law (continuous laws),
    on an array."""
    import numpy as np
    from scipy.special import erf

    if law == "gaussian":
        return lambda z: erf(np.asarray(z) / math.sqrt(2))
    if law == "laplace":  # Laplace with scale 1/√2: |Z| exponential with rate √2
        return lambda z: -np.expm1(-math.sqrt(2) * np.asarray(z))
    if law == "uniform":  # uniform on [−√3, √3]
        return lambda z: np.clip(np.asarray(z) / math.sqrt(3), 0.0, 1.0)
    raise ValueError(f"no continuous |Z| for the law {law!r}")


def noise_tests(
    u: torch.Tensor, sigma: float, law: str, alpha: float, reach: float
) -> list[tuple[str, float, float, dict[str, Any]]]:
    """The three tests of the module docstring on draws u (chains, steps, count, d) of U = σZ read
    at points of magnitude up to `reach`; returns (name, p-value, level, values) per test (a test
    holds where p ≥ level)."""
    from scipy.stats import kstest

    d = u.shape[-1]
    z = u / sigma
    flat = z.reshape(-1, d)
    p, level, counts = coordinates_test(flat, alpha / 3)
    out = [("coordinates", p, level, counts)]
    p, counts = fresh_test(z)
    out.append(("fresh", p, alpha / 3, counts))
    size = flat.abs().reshape(-1)
    if law == "rademacher":
        off = float((size - 1).abs().max())
        # U = ((W + U) − (W − U))/2 is off by round-off of W's size; a class may draw ±σ in float32.
        tol = ROUNDOFF * torch.finfo(torch.float64).eps * (1 + reach / sigma) + 8 * torch.finfo(torch.float32).eps
        out.append(("law", 0.0 if off > tol else 1.0, alpha / 3, {"max_abs_Z_minus_1": off}))
    else:
        res = kstest(size.tolist(), _abs_cdf(law))
        out.append(("law", float(res.pvalue), alpha / 3, {"ks_statistic": float(res.statistic), "values": len(size)}))
    return out


def asked(impl: Any, scalars: dict[str, Any]) -> list[tuple[str, str]]:
    """The (law P, layout) runs an instance asks of the class. At a fresh optimizer every law of the
    paper's (Table 1) it can be asked for — all four through a `noise` hyper-parameter, else Gaussian
    (`flatcheck.impl.nso_readback.noise_hyper`) — and every parameter layout (noise drawn per param
    group shows only in `groups`), paired in turn so that each appears; late in a run the instance's
    own law and layout, as each run would need its own warm-up. flatcheck's own sparse law is left
    out: it draws U = 0, no point to read, with probability 7/8."""
    if scalars.get("iteration"):
        laws, shapes = [scalars["noise"]], [scalars.get("layout", LAYOUTS[0])]
    else:
        laws, shapes = list(NOISES), list(LAYOUTS)
    laws = [law for law in laws if noise_hyper(law, impl) is not None] or ["gaussian"]
    return [(laws[i % len(laws)], shapes[i % len(shapes)]) for i in range(max(len(laws), len(shapes)))]


def step_scalars(laws: tuple[str, ...], k: bool) -> dict[str, st.SearchStrategy]:
    """The scalars of an NSO (k: the pairs' count) or WP-SGD step instance: η, σ, P among `laws`,
    the optimizers' iteration and the parameters' layout (`flatcheck.problems`)."""
    pairs = {"k": st.sampled_from([1, 2, 4])} if k else {}
    return {
        "lr": log_uniform(-8, -4),
        "sigma": log_uniform(-4, -1),
        **pairs,
        "noise": st.sampled_from(laws),
        "iteration": iterations(),
        "layout": layouts(),
    }


def noise_instances(k: bool) -> st.SearchStrategy[PointInstance]:
    """The instances of nso.alg1_noise (k) and nso.wp_noise: the loss does not enter the draws, so
    quadratics, the cheapest to step; d up to 7 gives the layouts two one-element tensors (even d ≥ 4)
    and 2 × 2, 2 × 3 matrices (`flatcheck.impl.protocol.parameter_shapes`)."""
    return point_instances(quadratics(d=st.integers(2, 7)), scalars=step_scalars(NOISES, k), lo=-4, hi=4)


# Two steps: the second is where noise kept from the first, or negated, shows.
STEPS = 2
# The length of the fresh run read for repeats, as far as the step claims' latest iteration (599).
LATE = 600


def noise_evidence(
    inst: Any, impl: Any, budget: Any, hps: list[dict[str, Any]], count: int, pairs: bool, scale: float
) -> Evidence:
    """The tests on the draws of `budget.draws` chains from the instance's point, each taking
    `STEPS` steps, under each of hps (one per law P the class can be asked for; levels split
    among them); `scale` multiplies σ (a claim's declared constant moved)."""
    x = inst.x_tensor(device=budget.device)
    n = budget.draws(impl, cap=budget.scaled(64, 256, 1024))
    values: dict[str, Any] = {"chains": n, "lr": hps[0]["lr"], "sigma": hps[0]["sigma"]}
    tests = []
    for hp in hps:
        law = hp.get("noise", "gaussian")
        u, reach, unread = run_draws(impl, inst.problem, x, hp, n, budget.seed, STEPS, count, pairs)
        if unread:
            return Evidence(None, {**values, "noise": law}, note=unread)
        found = noise_tests(u, scale * float(hp["sigma"]), law, budget.alpha / len(hps), reach)
        tests += [(f"{name} (P = {law}, {hp[LAYOUT]})", p, level, v) for name, p, level, v in found]
    # A fresh optimizer's LATE + 2 steps are read too (one chain, k = 1, under the instance's law, or
    # Gaussian for Rademacher, whose draws repeat by chance): no U of a law with a density repeats
    # another, or its negative — a bank of draws cycled, a draw kept and used again many steps later.
    law = hps[0].get("noise", "gaussian")
    long = {**hps[0], **({"k": 1} if pairs else {}), **noise_hyper("gaussian" if law == "rademacher" else law, impl)}
    seen, unread = run_repeats(impl, inst.problem, x, long, budget.seed, LATE + STEPS, 1, pairs)
    if unread:
        return Evidence(None, {**values, "noise": law}, note=unread)
    tests.append(
        (f"repeats (P = {long.get('noise', 'gaussian')}, a fresh run)", float(not seen["repeated"]), budget.alpha, seen)
    )
    return Evidence.tests(tests, "the draws of U", **values)


def make_check(pairs: bool) -> Callable[[PointInstance, Any, Any], Evidence]:
    """The check of nso.alg1_noise (pairs W ± U_j, k of them) or nso.wp_noise (one point W + U)."""

    def check(inst: PointInstance, impl: Any, budget: Any) -> Evidence:
        s = inst.scalars
        hp = {"lr": s["lr"], "sigma": s["sigma"], **({"k": s["k"]} if pairs else {}), **harness_keys(s)}
        hps = [{**hp, LAYOUT: layout, **noise_hyper(law, impl)} for law, layout in asked(impl, s)]
        count = s["k"] if pairs else 1
        return noise_evidence(inst, impl, budget, hps, count, pairs, scale=constant(budget, (SIGMA,), "sigma"))

    return check
