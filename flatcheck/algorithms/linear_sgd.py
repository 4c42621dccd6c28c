"""Linearized SGD — dexter2024 Definition 1 (§2).

    w_{t+1} = Ĵ w_t,   Ĵ = I − (η/B) Σ_{i∈S} H_i,

with S drawn by Bernoulli sampling (each i ∈ S independently with probability B/n — the paper's
analysis) or uniformly among the subsets of size B (`without_replacement`, the sampling of §2's
SGD and of the §5 experiments). It is SGD, w ← w − (η/B) Σ_{i∈S} ∇ℓ_i(w), on the per-example
quadratics ℓ_i(w) = ½wᵀH_iw around the minimum w* = 0.

`LinSGD` is that update as a torch optimizer for any model with per-example losses: it draws S
itself and asks the closure for Σ_{i∈S} ℓ_i through `closure(index=S)` (flatcheck.impl.jacobians).
The batched functional form advances thousands of independent chains at once: `linsgd_step` applies
Ĵ to a batch of matrices or vectors (products Ĵ_k⋯Ĵ₁ start from W = I); `diagonal_first_passage`
runs diagonal constructions (each chain its own family) until the norm grows or shrinks by a factor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from flatcheck.algorithms.param_vector import add_flat, evaluate_grad, own_generator, params_of, setting
from flatcheck.algorithms.sampling import SAMPLINGS, minibatch_weights


def linsgd_step(hs: torch.Tensor, w: torch.Tensor, weights: torch.Tensor, lr: float) -> torch.Tensor:
    """One step of Definition 1 per chain: hs (n, d, d), w (chains, d, k), weights (chains, n) =
    1{i∈S}/B (`minibatch_weights`) -> Ĵw = w − η Σ_i weights_i H_i w, shape (chains, d, k)."""
    # Σ_i weights_i H_i first (chains·n·d²), then one batched product (chains·d²·k).
    return w - lr * torch.einsum("cn,nab->cab", weights, hs) @ w


class LinSGD(torch.optim.Optimizer):
    """Definition 1 as an optimizer: w ← w − (η/B)∇Σ_{i∈S}ℓ_i(w), with S drawn here (Bernoulli with
    probability B/n, or a uniform B-subset). step(closure) calls closure(index=S) with S a LongTensor
    of example numbers (possibly empty); the closure zeroes the gradients, computes Σ_{i∈S} ℓ_i(w),
    calls backward() and returns it. On ℓ_i = ½wᵀH_iw this is exactly w ← Ĵw."""

    def __init__(
        self,
        params: Iterable,
        lr: float,
        batch_size: int,
        n_examples: int,
        sampling: str = "bernoulli",
        generator: torch.Generator | None = None,
    ):
        if lr <= 0 or not 1 <= batch_size <= n_examples or sampling not in SAMPLINGS:
            raise ValueError(
                f"LinSGD needs lr > 0, 1 ≤ batch_size ≤ n_examples and sampling in {SAMPLINGS} "
                f"(got lr={lr}, batch_size={batch_size}, n_examples={n_examples}, sampling={sampling!r})"
            )
        super().__init__(params, {"lr": lr, "batch_size": batch_size, "n_examples": n_examples, "sampling": sampling})
        self.generator = generator

    @torch.no_grad()
    def step(self, closure: Callable[..., torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        if closure is None:
            raise ValueError("LinSGD.step needs a closure(index) that computes Σ_{i∈index} ℓ_i and calls backward()")
        params = params_of(self)
        group = setting(self)
        self.generator = own_generator(self.generator, params[0])
        n, b = group["n_examples"], group["batch_size"]
        mask = minibatch_weights(1, n, b, group["sampling"], self.generator, device=params[0].device)[0] > 0
        index = torch.nonzero(mask).flatten()
        loss, g = evaluate_grad(closure, params, index=index)
        add_flat(params, -(group["lr"] / b) * g)
        return loss


def batch_masks(batch: torch.Tensor, n: int, sampling: str, gen: torch.Generator) -> torch.Tensor:
    """S for chains with their own batch sizes batch (chains,): Bernoulli (i ∈ S with probability B/n)
    or a uniform B-subset (the B smallest of n uniform keys). Returns (chains, n) bool."""
    keys = torch.rand(batch.shape[0], n, generator=gen)
    if sampling == "bernoulli":
        return keys < batch.unsqueeze(-1) / n
    if sampling == "without_replacement":
        kth = keys.sort(-1).values.gather(-1, (batch - 1).unsqueeze(-1))
        return keys <= kth
    raise ValueError(f"unknown sampling {sampling!r}; choose one of {SAMPLINGS}")


def diagonal_first_passage(
    coord: torch.Tensor,
    value: torch.Tensor,
    batch: torch.Tensor,
    lr: torch.Tensor,
    w0: torch.Tensor,
    steps: int,
    factor: float,
    sampling: str,
    gen: torch.Generator,
) -> torch.Tensor:
    """Runs Definition 1 on chains of diagonal families (each chain its own family, batch size and
    learning rate: coord, value (chains, n); batch, lr (chains,)) from w0 (chains, d), until ‖w_t‖
    reaches ×factor or ÷factor of ‖w_0‖ or `steps` steps pass. Returns per chain +1 (grew first),
    −1 (shrank first) or 0 (neither). w is renormalised every step (the dynamics are linear) and
    chains that are decided leave the batch, so the cost follows the undecided chains."""
    n = coord.shape[-1]
    outcome = torch.zeros(coord.shape[0], dtype=torch.long)
    active = torch.arange(coord.shape[0])
    w = w0 / torch.linalg.vector_norm(w0, dim=-1, keepdim=True)
    step_size = lr.unsqueeze(-1) * value / batch.unsqueeze(-1)  # η·h_i/B: the step of example i
    log_ratio = torch.zeros(coord.shape[0], dtype=w0.dtype)
    limit = math.log(factor)
    for _ in range(steps):
        if active.numel() == 0:
            break
        mask = batch_masks(batch, n, sampling, gen).to(w.dtype)
        w = w * (1 - torch.zeros_like(w).scatter_add_(-1, coord, mask * step_size))
        norm = torch.linalg.vector_norm(w, dim=-1)
        log_ratio = log_ratio + norm.log()
        w = w / torch.where(norm > 0, norm, 1.0).unsqueeze(-1)
        decided = (log_ratio >= limit) | (log_ratio <= -limit)
        if decided.any():
            outcome[active[decided]] = torch.where(log_ratio[decided] >= limit, 1, -1)
            keep = ~decided
            active, w, log_ratio = active[keep], w[keep], log_ratio[keep]
            coord, step_size, batch = coord[keep], step_size[keep], batch[keep]
    return outcome
