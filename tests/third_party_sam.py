"""Factories and drivers for pytorch-optimizer's SAM family, as a user of `flatcheck check` writes them
(README, "Plugging in any optimizer API"). Each factory receives what flatcheck passes for SAM —
params, base_optimizer (torch.optim.SGD), lr, rho — plus the --kwargs, and builds the optimizer
its constructor needs (the step itself is one of flatcheck's built-in drivers).

    flatcheck check pytorch_optimizer:GSAM --factory third_party_sam:gsam --driver outputs_loss \\
        --kwargs '{"alpha": 0.0}'
"""

from __future__ import annotations

from typing import Any

import torch
from pytorch_optimizer import BSAM, GSAM, WSAM


class ConstantRho:
    """GSAM's rho_scheduler with a constant radius: its step() gives ρ (GSAM reads it at every update_rho_t())."""

    def __init__(self, rho: float):
        self.rho = rho

    def step(self) -> float:
        return self.rho


def _model(params: list[torch.Tensor]) -> torch.nn.Module:
    """A module holding the parameters, for constructors that take a model (GSAM and WSAM switch
    its batch-norm statistics; flatcheck's problems have none)."""
    return torch.nn.ParameterList(params)


def gsam(params: list, base_optimizer: type, lr: float, rho: float, alpha: float = 0.4, **kwargs: Any) -> GSAM:
    """GSAM needs a base-optimizer *instance*, a model and a ρ scheduler; α = 0 is SAM."""
    base = base_optimizer(params, lr=lr)
    return GSAM(params, base, _model(params), ConstantRho(rho), alpha=alpha, **kwargs)


def wsam(params: list, base_optimizer: type, lr: float, rho: float, gamma: float = 0.9, **kwargs: Any) -> WSAM:
    """WSAM takes the model first; γ = 1/2 (weight γ/(1 − γ) = 1 on the sharpness term) is SAM."""
    return WSAM(_model(params), params, base_optimizer, rho=rho, gamma=gamma, lr=lr, **kwargs)


def bsam(params: list, base_optimizer: type, lr: float, rho: float, num_data: int = 4, **kwargs: Any) -> BSAM:
    """bSAM is its own optimizer (no base optimizer) and needs the size of the data set."""
    return BSAM(params, num_data=num_data, lr=lr, rho=rho, **kwargs)


def bsam_step(optimizer: BSAM, closure) -> Any:
    """bSAM's step reads the gradient at w before its first pass (it sizes its state from it) and then
    calls the closure twice without zeroing in between: its users run backward() first and pass a
    closure that zeroes the gradients."""
    optimizer.zero_grad()
    with torch.enable_grad():
        closure()

    def zeroed() -> torch.Tensor:
        optimizer.zero_grad()
        return closure()

    return optimizer.step(zeroed)
