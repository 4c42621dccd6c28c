"""Reading the change of tr̄(Φ) (ahn2024 Lemmas 2–4) off an implementation's own steps."""

from __future__ import annotations

import math

import torch

from flatcheck.impl.protocol import Chains, Implementation
from flatcheck.numeric.flatness import flatness, trace_bar, trace_change
from flatcheck.stats import mean_interval


def mean_trace_change(
    impl: Implementation, problem, x: torch.Tensor, hp: dict[str, float], n: int, seed: int, alpha: float
) -> tuple[float, float]:
    """Monte Carlo mean of tr̄(Φ(x⁺)) − tr̄(Φ(x)) over n steps of the implementation from x (d,), with
    the half-width of its normal interval at error rate alpha. Draws come in antithetic pairs where
    the implementation is batched; pair means are i.i.d. either way."""
    xs = x.expand(n, -1).clone()
    delta = trace_change(problem, xs, impl.step_many(problem, xs, hp, seed, antithetic=True))
    pairs = (delta[: n // 2] + delta[n // 2 : 2 * (n // 2)]) / 2
    est, half = mean_interval(pairs[:, None], alpha)
    return float(est[0]), float(half[0])


def steps_to_flat(
    impl: Implementation,
    problem,
    x0: torch.Tensor,
    hp: dict[str, float],
    eps: float,
    eps_prime: float,
    max_steps: int,
    seed: int,
    check_every: int = 1,
) -> tuple[torch.Tensor, list[float]]:
    """Run the implementation from every row of x0 (B, d) until each chain is (ε, ε′)-flat
    (Definition 3), checked every `check_every` steps; one optimizer per chain kept across the
    steps, each step with its own harness seed.

    Returns (first flat iteration per chain, max_steps where never flat; the median of tr̄(Φ) along
    the run, one value per check)."""
    chains = Chains(impl, problem, x0.clone(), hp, seed * 1_000_003)
    x = chains.x
    hit = torch.full((x.shape[0],), max_steps, dtype=torch.long)
    trace_path = []
    for t in range(max_steps + 1):
        if t % check_every == 0 or t == max_steps:
            fl = flatness(problem, x)
            flat = fl.is_flat(eps, eps_prime)
            hit = torch.where(flat & (hit == max_steps), torch.full_like(hit, t), hit)
            trace_path.append(float(trace_bar(problem, fl.phi).median()))
            if bool((hit < max_steps).all()):
                break
        if t < max_steps:
            x = chains.step(seed * 1_000_003 + t)
    return hit, trace_path


def loglog_slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y against log x (a fitted scaling exponent)."""
    lx, ly = [math.log(v) for v in xs], [math.log(v) for v in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def returned_iterates(
    impl: Implementation, problem, x0: torch.Tensor, hp: dict[str, float], steps: int, seed: int
) -> torch.Tensor:
    """The iterate ahn2024 Algorithm 1 returns, x̂ = x_U with U ~ Unif{1, …, T} (T = steps), for
    each independent run from the rows of x0 (B, d): (B, d).

    U is drawn per run before the run from its own generator, independent of the algorithm's
    draws (the algorithm's choice, not the run's); only the current iterate and the picked one are
    kept, so memory does not grow with T."""
    # Seed −1 of the run's block: the steps take seeds 0 … T of it, so the draw of U shares no stream.
    pick_gen = torch.Generator().manual_seed(seed * 1_000_003 - 1)
    pick = torch.randint(1, steps + 1, (x0.shape[0], 1), generator=pick_gen).to(x0.device)
    chains = Chains(impl, problem, x0.clone(), hp, seed * 1_000_003)
    out = x0.clone()
    for t in range(1, steps + 1):
        x = chains.step(seed * 1_000_003 + t)
        out = torch.where(pick == t, x, out)
        del chains.iterates[:-1], chains.draws[:]
    return out
