"""Deliberately broken linearized-SGD pieces (dexter2024 Definition 1 and Definition 2), written as a
user would write them. Each must come out falsified on at least one dexter2024 claim."""

from __future__ import annotations

import torch


class _LinSGDBase(torch.optim.Optimizer):
    """w ← w − (step/B)·∇Σ_{i∈S}ℓ_i with S drawn by `draw`; closure(index=S) returns Σ_{i∈S} ℓ_i."""

    def __init__(self, params, lr, batch_size, n_examples, sampling="bernoulli"):
        super().__init__(params, {"lr": lr, "batch_size": batch_size, "n_examples": n_examples, "sampling": sampling})

    def draw(self, n: int, b: int, sampling: str) -> torch.Tensor:
        if sampling == "bernoulli":
            return torch.nonzero(torch.rand(n) < b / n).flatten()
        return torch.randperm(n)[:b]

    def scale(self, lr: float, b: int, n: int) -> float:
        return lr / b

    @torch.no_grad()
    def step(self, closure):
        (p,) = self.param_groups[0]["params"]
        g = self.param_groups[0]
        index = self.draw(g["n_examples"], g["batch_size"], g["sampling"])
        with torch.enable_grad():
            loss = closure(index=index)
        p.sub_(self.scale(g["lr"], g["batch_size"], g["n_examples"]) * p.grad)
        return loss


class ReferenceLinSGD(_LinSGDBase):
    """A correct, independently written LinSGD: must pass."""


class EtaOverNLinSGD(_LinSGDBase):
    """Scales the mini-batch gradient by η/n instead of η/B."""

    def scale(self, lr, b, n):
        return lr / n


class FixedBatchLinSGD(_LinSGDBase):
    """Always draws a uniform subset of exactly B examples, even where Bernoulli sampling is asked for."""

    def draw(self, n, b, sampling):
        return torch.randperm(n)[:b]


def gram_without_sqrt(hs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """S taken as the trace Gram matrix itself, without the entry-wise square root (with a round-off bound)."""
    g = torch.einsum("iab,jba->ij", hs, hs)
    fro = torch.linalg.matrix_norm(hs)
    return g, 2 * hs.shape[-1] ** 2 * torch.finfo(torch.float64).eps * fro[:, None] * fro[None, :]
