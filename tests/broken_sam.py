"""SAM implementations written as a user would (davda54/sam's API), one correct and four broken
(wen2023 eq. (3)). Each broken one must come out falsified."""

from __future__ import annotations

import torch


class _SAMBase(torch.optim.Optimizer):
    def __init__(self, params, base_optimizer, rho=0.05, adaptive=False, **kwargs):
        super().__init__(params, dict(rho=rho, adaptive=adaptive, **kwargs))
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups

    def grads(self):
        return [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]

    def scale(self, group, grad: torch.Tensor) -> torch.Tensor:
        norm = torch.norm(torch.stack([g.norm(p=2) for g in self.grads()]), p=2)
        return group["rho"] / norm

    @torch.no_grad()
    def first_step(self, zero_grad=False):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                self.state[p]["old_p"] = p.data.clone()
                p.add_(p.grad * self.scale(group, p.grad))
        if zero_grad:
            self.zero_grad()

    def restore(self):
        for group in self.param_groups:
            for p in group["params"]:
                if "old_p" in self.state[p]:
                    p.data = self.state[p]["old_p"]

    @torch.no_grad()
    def second_step(self, zero_grad=False):
        self.restore()
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def step(self, closure=None):
        closure = torch.enable_grad()(closure)
        self.first_step(zero_grad=True)
        closure()
        self.second_step()


class ReferenceSAM(_SAMBase):
    """A correct, independently written SAM: must pass."""


class UnnormalisedSAM(_SAMBase):
    """Ascends by ρ∇L instead of ρ∇L/‖∇L‖."""

    def scale(self, group, grad):
        return torch.tensor(group["rho"], dtype=grad.dtype)


class WrongSignSAM(_SAMBase):
    """Descends to x − ρ∇L/‖∇L‖ instead of ascending."""

    def scale(self, group, grad):
        return -super().scale(group, grad)


class NoRestoreSAM(_SAMBase):
    """Applies the base step at the ascent point w + e(w) instead of at w."""

    def restore(self):
        pass


class PerParameterNormSAM(_SAMBase):
    """Normalises each tensor by its own gradient norm instead of the global norm."""

    def scale(self, group, grad):
        return group["rho"] / (grad.norm(p=2) + 1e-12)


class NoZeroSAM(_SAMBase):
    """Forgets to zero the gradients between its two passes: the base step uses ∇L(w) + ∇L(w + e(w)).
    Shows only when the closure does not zero them itself, as with the common SAM API's closures."""

    @torch.no_grad()
    def step(self, closure=None):
        closure = torch.enable_grad()(closure)
        self.first_step(zero_grad=False)
        closure()
        self.second_step()
