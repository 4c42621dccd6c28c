"""A multi-pass NSO-style optimizer with a staged API (the NSO paper's Algorithm 1): the user's loop
perturbs, runs a backward pass and accumulates, 2k times, then applies the averaged gradient —
and the driver that performs one step of it for flatcheck (README, "Plugging in any optimizer API"):

    flatcheck check staged_nso:StagedNSO --driver staged_nso:drive --claims nso.alg1_step
"""

from __future__ import annotations

from typing import Any

import torch


class StagedNSO(torch.optim.Optimizer):
    def __init__(self, params, lr: float, sigma: float, k: int = 1, noise_sign_bug: bool = False):
        super().__init__(params, {"lr": lr, "sigma": sigma, "k": k})
        self.noise_sign_bug = noise_sign_bug

    def passes(self) -> int:
        return 2 * self.param_groups[0]["k"]

    @torch.no_grad()
    def perturb(self, j: int) -> None:
        """Before pass j: W + U_{j//2} for even j (a fresh draw), W − U_{j//2} for odd j."""
        group = self.param_groups[0]
        for p in group["params"]:
            state = self.state[p]
            if j == 0:
                state["origin"] = p.clone()
            if j % 2 == 0:
                state["u"] = group["sigma"] * torch.randn_like(p)
            sign = 1.0 if (j % 2 == 0 or self.noise_sign_bug) else -1.0
            p.copy_(state["origin"] + sign * state["u"])

    @torch.no_grad()
    def accumulate(self) -> None:
        """After pass j: add the pass's gradient to the running sum and clear it."""
        for p in self.param_groups[0]["params"]:
            state = self.state[p]
            state["sum"] = state.get("sum", torch.zeros_like(p)) + p.grad
            p.grad = None

    @torch.no_grad()
    def finish(self) -> None:
        """W ← W − η/(2k)·Σ (Algorithm 1, line 6), from the unperturbed W."""
        group = self.param_groups[0]
        for p in group["params"]:
            state = self.state[p]
            p.copy_(state["origin"] - group["lr"] / self.passes() * state.pop("sum"))


def drive(optimizer: StagedNSO, closure) -> Any:
    """One step as the optimizer's users run it: 2k perturbed backward passes, then finish()."""
    optimizer.zero_grad()
    losses = []
    for j in range(optimizer.passes()):
        optimizer.perturb(j)
        with torch.enable_grad():
            losses.append(closure())
        optimizer.accumulate()
    optimizer.finish()
    return torch.stack(losses).mean()
