"""SAM variants (davda54/sam's API) for the step claims wen2023.sam_step and sam_stochastic_step:
two correct ones that real code is written like (a guarded normaliser, a float32-reduced norm),
and one mutant of each kind a single fresh step cannot show or that only a real model's many
tensors show. Each mutant must come out falsified, each correct one verified."""

from __future__ import annotations

import torch
from broken_sam import _SAMBase


class GuardedSAM(_SAMBase):
    """Correct: normalises by ‖g‖ + 1e-12, the usual guard (davda54/sam)."""

    def scale(self, group, grad):
        norm = torch.norm(torch.stack([g.norm(p=2) for g in self.grads()]), p=2)
        return group["rho"] / (norm + 1e-12)


class Float32NormSAM(_SAMBase):
    """Correct: reduces the global gradient norm in float32 while the parameters are float64."""

    def scale(self, group, grad):
        norm = torch.stack([g.float().pow(2).sum() for g in self.grads()]).sum().sqrt()
        return (group["rho"] / norm).to(grad.dtype)


class HalfRhoSAM(_SAMBase):
    """Ascends by ρ/2 instead of ρ."""

    def scale(self, group, grad):
        return super().scale(group, grad) / 2


class EveryTwoStepsSAM(_SAMBase):
    """Recomputes the ascent only every second step and reuses the last one in between (LookSAM-style
    reuse without its correction)."""

    @torch.no_grad()
    def first_step(self, zero_grad=False):
        count = self.state.setdefault("count", {"n": 0})
        fresh = count["n"] % 2 == 0
        count["n"] += 1
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                st["old_p"] = p.data.clone()
                if fresh:
                    st["e_w"] = p.grad * self.scale(group, p.grad)
                p.add_(st["e_w"])
        if zero_grad:
            self.zero_grad()


class MomentumAscentSAM(_SAMBase):
    """Ascends along the normalised momentum m ← 0.9m + g of the gradients instead of g itself."""

    @torch.no_grad()
    def first_step(self, zero_grad=False):
        bufs = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                st["m"] = 0.9 * st["m"] + p.grad if "m" in st else p.grad.clone()
                bufs.append(st["m"])
        norm = torch.norm(torch.stack([b.norm() for b in bufs]))
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                self.state[p]["old_p"] = p.data.clone()
                p.add_(self.state[p]["m"] * group["rho"] / norm)
        if zero_grad:
            self.zero_grad()


class NoZeroGradSAM(_SAMBase):
    """Forgets to zero the gradients between its two passes: with a closure that does not zero them
    (the common SAM API), the base step uses ∇L(x) + ∇L(x + ε) instead of ∇L(x + ε)."""

    @torch.no_grad()
    def step(self, closure=None):
        closure = torch.enable_grad()(closure)
        self.first_step(zero_grad=False)
        closure()
        self.second_step()
