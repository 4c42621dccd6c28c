"""Reading the change of tr̄(Φ) (ahn2024 Lemmas 2–4) off an implementation's own steps."""

from __future__ import annotations

import torch

from flatcheck.impl.protocol import Implementation
from flatcheck.numeric.flatness import trace_change
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
