"""Running an implementation for many steps on many independent chains (dynamics claims).

Every run goes through `flatcheck.impl.protocol.Chains`, so a user's optimizer and flatcheck's own
are run identically, one optimizer object per chain kept across the steps; each step gets its own
harness seed derived from the check's seed (the harness draws the examples of stochastic kinds
from it), so a run is a deterministic function of (x0, hp, seed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import torch

from flatcheck import cache
from flatcheck.impl.protocol import Chains, Implementation
from flatcheck.impl.shared import shared_all
from flatcheck.numeric.flow import phi
from flatcheck.numeric.riemannian import riemannian_flow
from flatcheck.problems import Problem
from flatcheck.stats import z_two_sided
from flatcheck.stats.exponents import ExponentFit, mean_exponent, paired_mean_exponent

T = TypeVar("T")

RK4_SUBSTEPS = 4  # RK4 steps between recorded flow times (the step-doubling estimate is reported)
PHI_TOL = 1e-9  # gradient-flow stopping tolerance for Φ of the iterates


def step_seed(seed: int, t: int) -> int:
    """The seed of step t of a run seeded with `seed` (distinct per step, reproducible)."""
    return (seed * 1_000_003 + 7919 * t + 1) % (2**62)


def run_chains(
    impl: Implementation,
    problem: Problem,
    x0: torch.Tensor,
    hp: dict[str, Any],
    steps: int,
    seed: int,
    record: Callable[[int, torch.Tensor], bool | None] | None = None,
    row: int | None = None,
) -> torch.Tensor:
    """x(steps) for each row of x0 (B, d); `record(t, x(t))` is called at t = 0 … steps, and the run
    stops early, at x(t), where it returns True (a check whose verdict is already decided). With
    `row`, chain `row` of the run alone (`Chains`): x (1, d)."""
    chains = Chains(impl, problem, x0, hp, step_seed(seed, 0), row=row)
    if record and record(0, chains.x):
        return chains.x
    for t in range(steps):
        x = chains.step(step_seed(seed, t))
        if record and record(t + 1, x):
            break
    return chains.x


def chain_count(impl: Implementation, batched: int, unbatched: int) -> int:
    """How many chains a dynamics check runs: many for a batched step, few for a user's class
    (stepped one optimizer per chain)."""
    return batched if impl.batched_step is not None else unbatched


def iterates_at(
    impl: Implementation,
    problem: Problem,
    x0: torch.Tensor,
    hp: dict[str, Any],
    steps: list[int],
    seed: int,
    row: int | None = None,
) -> torch.Tensor:
    """x(t) at each t in steps (sorted), for every chain of x0 (B, d): (K, B, d); with `row`, for
    that chain of the run alone: (K, 1, d)."""
    keep: dict[int, torch.Tensor] = {}
    marks = set(steps)

    def record(t: int, x: torch.Tensor) -> None:
        if t in marks:
            keep[t] = x.clone()

    run_chains(impl, problem, x0, hp, max(steps), seed, record, row)
    return torch.stack([keep[s] for s in steps])


def run_key(impl: Implementation, problem: Problem, x0: torch.Tensor, hp: dict[str, Any], seed: int) -> str:
    """Everything a run of `impl` from the rows of x0 depends on besides its length: how the
    implementation is built and driven, the problem's expressions, the start (exact floats, dtype,
    device), the hyper-parameters and the seed."""
    how = {k: repr(getattr(impl, k)) for k in ("name", "algorithm", "rename", "kwargs", "factory", "driver")}
    where = {
        "family": problem.family,
        "symbols": cache.expr_key(problem.symbols),
        "f": cache.expr_key(problem.expr),
        "examples": cache.expr_key(problem.examples),
    }
    start = {"x0": x0.tolist(), "dtype": str(x0.dtype), "device": str(x0.device)}
    return json.dumps({**how, **where, **start, "hp": repr(sorted(hp.items())), "seed": seed}, sort_keys=True)


def shared_iterates_at(
    impl: Implementation,
    problem: Problem,
    x0: torch.Tensor,
    plans: list[tuple[dict[str, Any], list[int]]],
    seed: int,
) -> list[torch.Tensor]:
    """`iterates_at(impl, problem, x0, hp, steps, seed)` for each (hp, steps) in plans. A user's run
    (stepped one optimizer per chain, the slow part of a check) is computed once per `flatcheck
    check` and read by every claim that runs it again (`flatcheck.impl.shared`: wen2023.theorem11
    and Corollary 17, theorem8 and Corollary 15); two claims at the same ladder at once split it,
    chain by chain (each chain of a user's class is its own optimizer: `Chains` with `row`), the
    longest runs first, so that the rung with the most steps does not fall to one worker."""

    def run(hp: dict[str, Any], steps: list[int], row: int | None = None) -> Callable[[], torch.Tensor]:
        return lambda: iterates_at(impl, problem, x0, hp, steps, seed, row)

    if impl.batched_step is not None:
        return [run(hp, steps)() for hp, steps in plans]
    parts = [(j, i) for j in range(len(plans)) for i in range(x0.shape[0])]
    parts.sort(key=lambda part: -max(plans[part[0]][1]))
    items = [
        (f"iterates_at {plans[j][1]} row {i}\n{run_key(impl, problem, x0, plans[j][0], seed)}", run(*plans[j], i))
        for j, i in parts
    ]
    done = dict(zip(parts, shared_all(items)))
    return [torch.cat([done[j, i] for i in range(x0.shape[0])], 1) for j in range(len(plans))]


# The engine code a control run goes through: editing any of it retires the cached runs.
_ENGINE = tuple(str(Path(__file__).parents[1] / p) for p in ("algorithms", "impl", "numeric", "problems", "errors.py"))


def control_runs(key: dict[str, Any], compute: Callable[[], T]) -> T:
    """Runs of flatcheck's own implementation that a check of a user's class uses as its control
    variate (wen2023.theorem11, Corollary 17): they do not depend on the class, and are a
    deterministic function of `key` (the claim, the start, the ladder, the chains, the seeds: all the
    check passes them) and of the code, so they are kept on disk (`flatcheck.cache`, namespace
    "control") — a check of a second class, or a second check, reads them. The key adds the source
    of the engine's numeric code and of `compute`'s module (the claim) and torch's and sympy's versions."""
    full = "\n".join(
        [
            json.dumps(key, sort_keys=True, default=repr),
            f"torch {torch.__version__}",
            cache.code_key(*_ENGINE),
            cache.source_hash(compute),
        ]
    )
    return cache.memo("control", full, compute)


@dataclass
class Tracking:
    """One run of an implementation against the limit flow of wen2023 (6)/(8), at flow times T_k.

    steps[k] = ⌈T_k/(ηρ²)⌉; x (K, B, d) are the iterates x(steps[k]); phi (K, B, d) their Φ; flow
    (K, d) the Riemannian gradient flow X(T_k) from X(0) = Φ(x_init); converged: every Φ was found
    and flow_error bounds the integration error of X plus the tolerance of Φ."""

    times: list[float]
    steps: list[int]
    x: torch.Tensor
    phi: torch.Tensor
    flow: torch.Tensor
    flow_error: float
    converged: bool

    def distance(self) -> torch.Tensor:
        """‖Φ(x(⌈T_k/ηρ²⌉)) − X(T_k)‖, (K, B)."""
        return torch.linalg.vector_norm(self.phi - self.flow[:, None], dim=-1)


def track_limit_flow(
    impl: Implementation,
    problem: Problem,
    x_init: torch.Tensor,
    m: int,
    objective: str,
    hps: list[dict[str, Any]],
    times: list[float],
    chains: int,
    seed: int,
    time_scale: float = 1.0,
) -> list[Tracking]:
    """For each hyper-parameter set in hps: run `chains` copies of the implementation from x_init (d,)
    for ⌈T/(cηρ²)⌉ steps, T = max(times), c = time_scale (the theorems: 1), and compare Φ of the
    iterates at ⌈T_k/(cηρ²)⌉ with the Riemannian flow `objective` ("top_eigenvalue": (6), "trace":
    (8)) at T_k (wen2023 Theorems 8, 11). The flow from Φ(x_init) is shared, and every Φ is found
    in one batched gradient flow."""
    plans = []
    for hp in hps:
        scale = time_scale * hp["lr"] * hp["rho"] ** 2
        plans.append((hp, [math.ceil(t / scale - 1e-9) for t in times]))
    xs = shared_iterates_at(impl, problem, x_init.expand(chains, -1).clone(), plans, seed)
    runs = [(steps, x) for (_, steps), x in zip(plans, xs)]
    d = x_init.shape[-1]
    pts = torch.cat([x_init[None], *(xs.reshape(-1, d) for _, xs in runs)])
    # Rows repeat (every chain is at x_init at T = 0): Φ once per distinct row (rows flow on their own).
    rows, inverse = torch.unique(pts, dim=0, return_inverse=True)
    found = phi(problem.grad, rows, tol=PHI_TOL, rtol=PHI_TOL, atol=PHI_TOL / 100)
    point = found.point[inverse]
    flow = riemannian_flow(
        problem, point[:1], m, objective, torch.tensor(times, dtype=x_init.dtype), substeps=RK4_SUBSTEPS
    )
    phis = point[1:].split([xs.numel() // d for _, xs in runs])
    return [
        Tracking(
            times=list(times),
            steps=steps,
            x=xs,
            phi=ph.reshape(xs.shape),
            flow=flow.path[:, 0],
            flow_error=flow.error + PHI_TOL,
            converged=found.all_converged,
        )
        for (steps, xs), ph in zip(runs, phis)
    ]


def scaling_exponent(scales: list[float], errors: list[float]) -> float:
    """Least-squares slope of log(error) against log(scale): error ∝ scale^slope."""
    xs, ys = [math.log(s) for s in scales], [math.log(max(e, 1e-300)) for e in errors]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)


def local_slopes(scales: list[float], errors: list[float]) -> list[float]:
    """The slope of log(error) against log(scale) between each pair of neighbouring rungs."""
    return [scaling_exponent(scales[i : i + 2], errors[i : i + 2]) for i in range(len(scales) - 1)]


def as_kind(impl: Implementation, kind: str) -> Implementation:
    """The implementation of another algorithm that a claim about several runs needs (wen2023
    Figure 1: full-batch SAM, stochastic SAM, GD on L^asc). A user's class serves its algorithm's
    family (`AlgorithmSpec.family`: a SAM is both SAM kinds, one adapter each, as `flatcheck check`
    does); an algorithm the class does not implement (GD on L^asc for a SAM) and every algorithm of
    the built-ins come from flatcheck's own implementations."""
    from flatcheck.impl.builtin import builtin

    if impl.algorithm == kind:
        return impl
    if not impl.builtin and kind in impl.spec.family:
        return replace(impl, algorithm=kind)
    return builtin(kind)


def ladder(budget: Any) -> list[float]:
    """Scales s of an (η, ρ) = (η₀s, ρ₀s) ladder for O(·) fits of dynamics claims, by profile."""
    return budget.scaled([1.0, 2**-0.5], [1.0, 2**-0.5, 0.5], [1.0, 2**-0.5, 0.5, 2**-1.5])


def required_exponent(rates: list[float], claimed: float, log_power: int) -> float:
    """The exponent an O(rate^claimed · log(1/rate)^log_power) law must show on this ladder: the
    claimed one less what the hidden log factor (Õ's; 0 where the log is written into the rate)
    lowers the least-squares exponent by between the ladder's ends, never a fraction of it. A hidden
    log needs rates below 1 (log(1/rate) > 0); a rate with its log written in may exceed 1."""
    if log_power == 0:
        return claimed
    lo, hi = min(rates), max(rates)
    return claimed - log_power * math.log(math.log(1 / lo) / math.log(1 / hi)) / math.log(hi / lo)


def scaling_decision(
    rates: list[float],
    samples: list[torch.Tensor],
    alpha: float,
    min_exponent: float,
    floor: float = 0.0,
    control: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None,
) -> tuple[bool | None, ExponentFit, list[float], list[float]]:
    """Decide an O(rate^min_exponent) claim from errors measured on a ladder of rates (largest first).

    samples[j] holds the errors of the independent runs at level j (one value for a deterministic
    algorithm: exact, no sampling error). The exponent is the least-squares slope of log(mean error)
    against log(rate), with one-sided (1 − alpha) bounds from the levels' Monte Carlo errors
    (`flatcheck.stats.exponents.mean_exponent`). Holds when the smallest-rate error is below `floor`
    or the lower bound reaches min_exponent; violated when the upper bound is below it (the interval
    excludes the claimed exponent: Monte Carlo noise falsifies with probability ≤ alpha); otherwise
    undecided — the ladder cannot tell, and a point estimate above the claimed exponent is no
    evidence for it. With `control` = (many, paired): runs of a reference implementation, many at
    each level on their own draws and paired with `samples` on theirs, each level's mean is
    estimated through the control variate (`paired_mean_exponent`). Returns (decision, the fit,
    means, half-widths of the levels' normal intervals at error rate alpha)."""
    z = z_two_sided(alpha / 2)
    if control is None:
        means = [float(s.mean()) for s in samples]
        half = [z * float(s.std()) / math.sqrt(s.numel()) if s.numel() > 1 else 0.0 for s in samples]
        fit = mean_exponent(rates, samples, alpha)
    else:
        many, paired = control
        diffs = [s - p for s, p in zip(samples, paired)]
        means = [float(m.mean() + d.mean()) for m, d in zip(many, diffs)]
        half = [z * math.sqrt(float(m.var()) / m.numel() + float(d.var()) / d.numel()) for m, d in zip(many, diffs)]
        fit = paired_mean_exponent(rates, many, diffs, alpha)
    return (True if means[-1] <= floor else fit.decide_decay(min_exponent)), fit, means, half
