"""Randomly Smoothed Perturbation — ahn2024 Algorithm 1 (§3.1, update (2)).

    if ‖∇f(x_t)‖ ≤ ε₀:  x_{t+1} = x_t − η(∇f(x_t) + v_t),  v_t = Proj⊥_{∇f(x_t)} ∇f(x_t + ρg_t),
                        g_t ~ Unif(S^{d−1})
    else:               x_{t+1} = x_t − η′∇f(x_t)

All parameters together form the vector x: g_t is uniform on the sphere of the whole parameter
space and the norms and the projection are global, as in the paper.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from flatcheck.algorithms.param_vector import add_flat, evaluate_grad, own_generator, params_of, restore, save, setting
from flatcheck.numeric import proj_out, unit_sphere


def rsp_step(
    grad: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    g: torch.Tensor,
    *,
    lr: float,
    lr_prime: float,
    rho: float,
    eps0: float,
) -> torch.Tensor:
    """One step of Algorithm 1 for a batch of independent chains: x, g of shape (B, d).

    grad is the batched gradient (B, d) -> (B, d); g are unit directions (`rsp_directions`)."""
    gx = grad(x)
    v = proj_out(gx, grad(x + rho * g))
    small = torch.linalg.vector_norm(gx, dim=-1, keepdim=True) <= eps0
    return torch.where(small, x - lr * (gx + v), x - lr_prime * gx)


def rsp_directions(
    n: int,
    d: int,
    generator: torch.Generator,
    antithetic: bool = False,
    dtype=torch.float64,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """n draws of g ~ Unif(S^{d−1}); antithetic=True returns pairs (g, −g) for variance reduction."""
    if not antithetic:
        return unit_sphere((n,), d, generator, dtype, device)
    half = unit_sphere(((n + 1) // 2,), d, generator, dtype, device)
    return torch.cat([half, -half])[:n]


class RSP(torch.optim.Optimizer):
    """Algorithm 1 as a torch optimizer. `step(closure)` needs the closure (it evaluates the
    gradient at x and at x + ρg); the closure zeroes gradients, computes the loss, calls
    backward() and returns the loss."""

    def __init__(
        self,
        params: Iterable,
        lr: float,
        rho: float,
        eps0: float = float("inf"),
        lr_prime: float | None = None,
        generator: torch.Generator | None = None,
    ):
        if lr <= 0 or rho < 0 or eps0 < 0:
            raise ValueError(f"RSP needs lr > 0, rho ≥ 0, eps0 ≥ 0 (got lr={lr}, rho={rho}, eps0={eps0})")
        defaults = {"lr": lr, "rho": rho, "eps0": eps0, "lr_prime": lr if lr_prime is None else lr_prime}
        super().__init__(params, defaults)
        self.generator = generator

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        if closure is None:
            raise ValueError("RSP.step needs a closure: it evaluates the gradient at a perturbed point")
        params = params_of(self)
        group = setting(self)
        loss, gx = evaluate_grad(closure, params)
        if torch.linalg.vector_norm(gx) <= group["eps0"]:
            ref = params[0]
            self.generator = own_generator(self.generator, ref)
            g = unit_sphere((), gx.numel(), self.generator, gx.dtype, ref.device)
            saved = save(params)
            add_flat(params, group["rho"] * g)
            _, gp = evaluate_grad(closure, params)
            restore(params, saved)
            add_flat(params, -group["lr"] * (gx + proj_out(gx, gp)))
        else:
            add_flat(params, -group["lr_prime"] * gx)
        return loss
