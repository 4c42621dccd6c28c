"""Sharpness-Aware Perturbation — ahn2024 Algorithm 2 (§4.1, update (7), Remark 2).

    if ‖∇f(x_t)‖ ≤ ε₀:  x_{t+1} = x_t − η(∇f(x_t) + v_t),
                        v_t = Proj⊥_{∇f(x_t)} ∇f_i(x_t + ρσ_t ∇f_i(x_t)/‖∇f_i(x_t)‖),
                        i ~ Unif([n]), σ_t ~ Unif({±1})
    else:               x_{t+1} = x_t − η′∇f(x_t)

Remark 2: where ∇f_i(x_t) = 0 the direction is ∇f_i(x_t + ξ)/‖∇f_i(x_t + ξ)‖ for a random ξ of
small norm (`xi`, default 1e-6); if that vanishes too the direction is 0 (v_t = Proj⊥∇f_i(x_t)).
Norms and the projection are global over all parameters, as in the paper.

Closure protocol of the `SAP` optimizer (the per-example loss comes through the closure, the
caller chooses the example): closure(example=False) zeroes the gradients, computes the full loss
f = (1/n)Σf_i, calls backward() and returns it; closure(example=True) does the same for the loss
f_i of the example drawn for this step (i ~ Unif([n]), e.g. by the data loader; flatcheck's
harness draws it from the check's seed). The random sign σ_t is the optimizer's own draw.

Hyper-parameters by flatcheck name: lr (η), lr_prime (η′, default η), rho (ρ), eps0 (ε₀,
default ∞), xi (Remark 2's radius).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from flatcheck.algorithms.param_vector import add_flat, evaluate_grad, own_generator, params_of, restore, save, setting
from flatcheck.algorithms.sam import unit_rows
from flatcheck.numeric import proj_out, unit_sphere


def sap_direction(
    grad_example: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    index: torch.Tensor,
    xi: torch.Tensor,
) -> torch.Tensor:
    """∇f_i(x)/‖∇f_i(x)‖, or Remark 2's ∇f_i(x + ξ)/‖∇f_i(x + ξ)‖ on rows where ∇f_i(x) = 0."""
    gi = grad_example(x, index)
    vanished = (gi == 0).all(-1, keepdim=True)
    return unit_rows(torch.where(vanished, grad_example(x + xi, index), gi))


def sap_step(
    grad: Callable[[torch.Tensor], torch.Tensor],
    grad_example: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    index: torch.Tensor,
    sign: torch.Tensor,
    xi: torch.Tensor,
    *,
    lr: float,
    lr_prime: float,
    rho: float,
    eps0: float,
) -> torch.Tensor:
    """One step of Algorithm 2 for a batch of chains: x (B, d), example index (B,), sign σ (B, 1),
    Remark 2's ξ (B, d). grad_example(x, index) -> (B, d) is ∇f_{index[b]} at row b."""
    gx = grad(x)
    u = sap_direction(grad_example, x, index, xi)
    v = proj_out(gx, grad_example(x + rho * sign * u, index))
    small = torch.linalg.vector_norm(gx, dim=-1, keepdim=True) <= eps0
    return torch.where(small, x - lr * (gx + v), x - lr_prime * gx)


class SAP(torch.optim.Optimizer):
    """Algorithm 2 as a torch optimizer; see the module docstring for its closure protocol."""

    def __init__(
        self,
        params: Iterable,
        lr: float,
        rho: float,
        eps0: float = float("inf"),
        lr_prime: float | None = None,
        xi: float = 1e-6,
        generator: torch.Generator | None = None,
    ):
        if lr <= 0 or rho < 0 or eps0 < 0 or xi <= 0:
            raise ValueError(f"SAP needs lr > 0, rho ≥ 0, eps0 ≥ 0, xi > 0 (got {lr}, {rho}, {eps0}, {xi})")
        lr_prime = lr if lr_prime is None else lr_prime
        super().__init__(params, {"lr": lr, "rho": rho, "eps0": eps0, "lr_prime": lr_prime, "xi": xi})
        self.generator = generator

    @torch.no_grad()
    def step(self, closure: Callable[..., torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        if closure is None:
            raise ValueError("SAP.step needs a closure(example=False) for the full and per-example losses")
        params = params_of(self)
        group = setting(self)
        loss, gx = evaluate_grad(closure, params)
        if torch.linalg.vector_norm(gx) > group["eps0"]:
            add_flat(params, -group["lr_prime"] * gx)
            return loss
        self.generator = gen = own_generator(self.generator, params[0])
        sign = torch.randint(0, 2, (), generator=gen, device=gx.device).to(gx.dtype) * 2 - 1
        saved = save(params)
        _, gi = evaluate_grad(closure, params, example=True)
        if (gi == 0).all():
            add_flat(params, group["xi"] * unit_sphere((), gi.numel(), gen, gi.dtype, gi.device))
            _, gi = evaluate_grad(closure, params, example=True)
            restore(params, saved)
        add_flat(params, group["rho"] * sign * unit_rows(gi))
        _, gp = evaluate_grad(closure, params, example=True)
        restore(params, saved)
        add_flat(params, -group["lr"] * (gx + proj_out(gx, gp)))
        return loss
