"""ahn2024's two-phase update (Algorithm 1, RSP; Algorithm 2, SAP) written as a user would write an
optimizer over one parameter tensor, shared by the user-style classes of tests/broken_rsp.py and
tests/broken_sap.py: x ← x − η′∇f(x) where ‖∇f(x)‖ > ε₀, else x ← x − η(∇f(x) + v) with v from the
subclass's `correction(closure, p, gx, group)`."""

from __future__ import annotations

import torch


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
        (p,) = self.param_groups[0]["params"]
        group = self.param_groups[0]
        with torch.enable_grad():
            loss = closure()
        gx = p.grad.clone()
        if gx.norm() > group["eps0"]:
            p.sub_(group["lr_prime"] * gx)
        else:
            p.sub_(group["lr"] * (gx + self.correction(closure, p, gx, group)))
        return loss
