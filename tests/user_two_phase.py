"""ahn2024's two-phase update (Algorithm 1, RSP; Algorithm 2, SAP) written as a user would write an
optimizer over all of a model's parameters seen as one vector (`Flat`), shared by the user-style
classes of tests/broken_rsp.py and tests/broken_sap.py: x ← x − η′∇f(x) where ‖∇f(x)‖ > ε₀, else
x ← x − η(∇f(x) + v) with v from the subclass's `correction(closure, p, gx, group)`."""

from __future__ import annotations

import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters


class Flat:
    """A model's parameters (several tensors) as one vector, the papers' x: its gradient is the
    concatenated gradients, and adding a vector adds each slice to its tensor."""

    def __init__(self, params: list[torch.Tensor]):
        self.params = params
        self.dtype, self.device = params[0].dtype, params[0].device

    def numel(self) -> int:
        return sum(p.numel() for p in self.params)

    @property
    def grad(self) -> torch.Tensor:
        return torch.cat([p.grad.reshape(-1) for p in self.params])

    def add_(self, v: torch.Tensor) -> None:
        vector_to_parameters(parameters_to_vector(self.params) + v, self.params)

    def sub_(self, v: torch.Tensor) -> None:
        self.add_(-v)


class TwoPhaseUser(torch.optim.Optimizer):
    def __init__(self, params, lr, rho, eps0=float("inf"), lr_prime=None):
        super().__init__(params, {"lr": lr, "rho": rho, "eps0": eps0, "lr_prime": lr_prime or lr})

    def gradient_at(self, closure, p, at: torch.Tensor, **kwargs) -> torch.Tensor:
        """The closure's gradient at p + at; p is put back afterwards."""
        p.add_(at)
        with torch.enable_grad():
            closure(**kwargs)
        p.sub_(at)
        return p.grad.clone()

    @torch.no_grad()
    def step(self, closure):
        p = Flat(self.param_groups[0]["params"])
        group = self.param_groups[0]
        with torch.enable_grad():
            loss = closure()
        gx = p.grad.clone()
        if gx.norm() > group["eps0"]:
            p.sub_(group["lr_prime"] * gx)
        else:
            p.sub_(group["lr"] * (gx + self.correction(closure, p, gx, group)))
        return loss
