"""The divergence rule of dexter2024 §5.1, reported beside the catalog's decisions (never a verdict).

A run diverges if ‖w‖ grows ×1000 before it shrinks ×1000 within 1000 steps; a point diverges if 3
of 5 runs do. It follows typical runs (the sign of the top Lyapunov exponent), not a moment, and its
error rate is not controlled (`flatcheck.stats.stability` has the rules with stated error rates).
"""

from __future__ import annotations

import math

import torch

PAPER_FACTOR = 1000.0
PAPER_STEPS = 1000
PAPER_RUNS = 5


def paper_rule(log_ratio: torch.Tensor, factor: float = PAPER_FACTOR) -> torch.Tensor:
    """§5.1's decision. log_ratio (steps, ..., runs) = log(‖w_t‖/‖w_0‖) for t = 1..steps (≤ 1000).
    A run diverges if it reaches ×factor before ÷factor; the point diverges if a majority of runs do.
    Returns a bool tensor of shape (...)."""
    up = log_ratio >= math.log(factor)
    down = log_ratio <= -math.log(factor)
    steps = log_ratio.shape[0]
    idx = torch.arange(steps).reshape(-1, *([1] * (log_ratio.dim() - 1)))
    first_up = torch.where(up, idx, steps).min(0).values
    first_down = torch.where(down, idx, steps).min(0).values
    diverged = first_up < first_down
    return diverged.sum(-1) * 2 > log_ratio.shape[-1]
