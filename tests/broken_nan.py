"""An optimizer that follows the protocol but produces NaN parameters: bad input from the user's
code, which flatcheck must report as such (an error with one clear reason), never as a verdict."""

from __future__ import annotations

import torch


class NaNRSP(torch.optim.Optimizer):
    def __init__(self, params, lr, rho, eps0=float("inf"), lr_prime=None):
        super().__init__(params, {"lr": lr, "rho": rho})

    @torch.no_grad()
    def step(self, closure):
        with torch.enable_grad():
            loss = closure()
        for p in self.param_groups[0]["params"]:
            p.add_(p.grad / 0.0)  # inf (or NaN where the gradient is 0): the user's bug
        return loss
