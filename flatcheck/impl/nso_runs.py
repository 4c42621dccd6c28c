"""Reading NSO's (NSO paper, Algorithm 1) internals back from any implementation's steps.

Line 6 is W_{i+1} = W_i − η_i·G_i with G_i = (1/2k)Σ_j G_i^{(j)}, so G_i = (W_i − W_{i+1})/η_i:
the averaged two-point gradient, whose deviation from ∇F(W_i) is δ_i + ξ_i (§4). The checks need
nothing from the implementation but its steps (`Implementation.step_many` / `run_many`).
"""

from __future__ import annotations

from typing import Any

import torch

from flatcheck.impl.protocol import Implementation
from flatcheck.problems import Problem


def step_gradients(
    impl: Implementation, problem: Problem, w: torch.Tensor, hp: dict[str, Any], n: int, seed: int
) -> torch.Tensor:
    """n independent draws of G = (W − W⁺)/η from the point w (d,); returns (n, d)."""
    xs = w.expand(n, -1).clone()
    return (xs - impl.step_many(problem, xs, hp, seed)) / hp["lr"]


def run_paths(
    impl: Implementation, problem: Problem, w0: torch.Tensor, hp: dict[str, Any], n: int, steps: int, seed: int
) -> torch.Tensor:
    """n independent runs of `steps` steps from w0 (one optimizer per run); returns (n, steps + 1, d)."""
    return impl.run_many(problem, w0.expand(n, -1).clone(), hp, seed, steps)


def readback_error(w: torch.Tensor, lr: float, g: torch.Tensor) -> float:
    """Round-off of G = (W − W⁺)/η in float64: a few ulps of ‖W‖/η and ‖G‖."""
    eps = torch.finfo(torch.float64).eps
    return 64 * eps * (float(w.abs().max()) / lr + float(g.abs().max()) + 1.0) * w.shape[-1] ** 0.5
