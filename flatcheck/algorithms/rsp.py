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

    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def _flat_grad(self) -> torch.Tensor:
        return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in self._params()])

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        if closure is None:
            raise ValueError("RSP.step needs a closure: it evaluates the gradient at a perturbed point")
        params = self._params()
        group = self.param_groups[0]
        with torch.enable_grad():
            loss = closure()
        gx = self._flat_grad()
        if torch.linalg.vector_norm(gx) <= group["eps0"]:
            ref = params[0]
            g = unit_sphere((), gx.numel(), self._generator(ref), gx.dtype, ref.device)
            _add_flat(params, group["rho"] * g)
            with torch.enable_grad():
                closure()
            _add_flat(params, -group["rho"] * g)
            update = gx + proj_out(gx, self._flat_grad())
            _add_flat(params, -group["lr"] * update)
        else:
            _add_flat(params, -group["lr_prime"] * gx)
        return loss

    def _generator(self, ref: torch.Tensor) -> torch.Generator | None:
        if self.generator is None:
            self.generator = torch.Generator(device=ref.device)
            self.generator.manual_seed(int(torch.randint(0, 2**31 - 1, ()).item()))
        return self.generator


def _add_flat(params: list[torch.Tensor], flat: torch.Tensor) -> None:
    i = 0
    for p in params:
        n = p.numel()
        p.add_(flat[i : i + n].view_as(p))
        i += n
