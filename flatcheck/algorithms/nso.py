"""Noise stability optimization — the NSO paper's Algorithm 1 (§2) — and WP-SGD, its one-point
baseline (§2, Table 1).

    NSO:    W_{i+1} = W_i − (η/2k) Σ_{j=1}^k (g(W_i + U^{(j)}) + g(W_i − U^{(j)})),  U^{(j)} i.i.d. ~ P
    WP-SGD: W_{i+1} = W_i − η g(W_i + U),  U ~ P

P is symmetric at zero (Theorem 4.3): Gaussian, Laplace, uniform or Rademacher coordinates of
standard deviation σ (`symmetric_noise`; the paper's Table 1), or flatcheck's sparse law (0 with
probability 7/8, else ±σ√8), under which Lemma 4.4's δ bound is nearly attained. g is an unbiased
gradient estimator: the optimizers use the gradient of whatever loss the closure returns (the full
loss, or a mini-batch per call or per pair of calls).

Hyper-parameters by flatcheck name: lr (η), k (perturbations, NSO only), sigma (σ), noise
("gaussian" | "laplace" | "uniform" | "rademacher" | "sparse"; default gaussian); optionally batch_size and
sampling for a stochastic g (the harness draws a fresh mini-batch at every gradient evaluation, or
with paired_batches one per pair W ± U_j, the paper's g_z with a seed per perturbation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from flatcheck.algorithms.param_vector import add_flat, evaluate_grad, own_generator, params_of, restore, save, setting
from flatcheck.algorithms.sampling import LAWS, symmetric_noise


def nso_step(
    grad: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, u: torch.Tensor, *, lr: float
) -> torch.Tensor:
    """One step of Algorithm 1 per chain: x (B, d), perturbations u (B, k, d); grad is batched over
    leading dimensions ((..., d) -> (..., d)). Line 4 and line 6: W − η/(2k)·Σ_j (g(W+U_j) + g(W−U_j)).
    grad is called once, on (B, 2k, d) = cat([W + U, W − U]): rows j and j + k are the pair ±U_j
    (the harness's paired oracle shares one mini-batch between them)."""
    k = u.shape[-2]
    xs = x.unsqueeze(-2)
    both = grad(torch.cat([xs + u, xs - u], dim=-2))
    return x - lr / (2 * k) * both.sum(-2)


def wp_step(
    grad: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, u: torch.Tensor, *, lr: float
) -> torch.Tensor:
    """One WP-SGD step per chain: x, u of shape (B, d)."""
    return x - lr * grad(x + u)


class _Perturbed(torch.optim.Optimizer):
    def __init__(self, params: Iterable, lr: float, sigma: float, noise: str, k: int, generator):
        if lr <= 0 or sigma < 0 or k < 1 or noise not in LAWS:
            raise ValueError(f"need lr > 0, sigma ≥ 0, k ≥ 1, noise in {LAWS} (got {lr}, {sigma}, {k}, {noise!r})")
        super().__init__(params, {"lr": lr, "sigma": sigma, "noise": noise, "k": k})
        self.generator = generator

    def _draws(self, n: int, d: int, ref: torch.Tensor) -> torch.Tensor:
        group = setting(self)
        self.generator = own_generator(self.generator, ref)
        return symmetric_noise((n,), d, group["sigma"], group["noise"], self.generator, ref.dtype, ref.device)

    def _grad_at(self, closure, params, saved, shift: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        add_flat(params, shift)
        out = evaluate_grad(closure, params)
        restore(params, saved)
        return out


class NSO(_Perturbed):
    """Algorithm 1 as a torch optimizer: 2k closure evaluations per step (at W ± U_j), then the
    averaged update. The closure zeroes gradients, computes the loss, calls backward() and returns it."""

    def __init__(
        self,
        params: Iterable,
        lr: float,
        sigma: float,
        k: int = 1,
        noise: str = "gaussian",
        generator: torch.Generator | None = None,
    ):
        super().__init__(params, lr, sigma, noise, k, generator)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        if closure is None:
            raise ValueError("NSO.step needs a closure: it evaluates the gradient at W ± U")
        params = params_of(self)
        group = setting(self)
        saved = save(params)
        d = sum(p.numel() for p in params)
        u = self._draws(group["k"], d, params[0])
        total = torch.zeros(d, dtype=params[0].dtype, device=params[0].device)
        losses = []
        for j in range(group["k"]):  # k is the paper's handful of perturbations, not Monte Carlo draws
            for s in (1.0, -1.0):
                loss, g = self._grad_at(closure, params, saved, s * u[j])
                total += g
                losses.append(loss)
        add_flat(params, -group["lr"] / (2 * group["k"]) * total)
        return torch.stack([torch.as_tensor(v) for v in losses]).mean()


class WPSGD(_Perturbed):
    """Weight-perturbed SGD: the gradient at W + U, U ~ P, applied at W."""

    def __init__(
        self,
        params: Iterable,
        lr: float,
        sigma: float,
        noise: str = "gaussian",
        generator: torch.Generator | None = None,
    ):
        super().__init__(params, lr, sigma, noise, 1, generator)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        if closure is None:
            raise ValueError("WPSGD.step needs a closure: it evaluates the gradient at W + U")
        params = params_of(self)
        saved = save(params)
        u = self._draws(1, sum(p.numel() for p in params), params[0])[0]
        loss, g = self._grad_at(closure, params, saved, u)
        add_flat(params, -setting(self)["lr"] * g)
        return loss
