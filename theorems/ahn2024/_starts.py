"""Starts near a global minimizer for ahn2024's training-run claims (§5, Theorem 2).

At an exact minimizer of the squared loss every ∇f_i vanishes — an artifact of the loss (§5's
cross-entropy never vanishes) — and Algorithm 2's ∇f_i/‖∇f_i‖ is 0/0, defined only by Remark 2:
an implementation without Remark 2 would be stopped there, not judged. So the runs start a seeded
1e-6 away, which is ζ-close to X* as Theorem 2 allows."""

from __future__ import annotations

import torch

OFFSET = 1e-6


def near(point: torch.Tensor, seed: int) -> torch.Tensor:
    """point moved by a seeded offset of norm OFFSET."""
    offset = torch.randn(point.shape[-1], generator=torch.Generator().manual_seed(seed), dtype=point.dtype)
    return point + OFFSET * offset / torch.linalg.vector_norm(offset)
