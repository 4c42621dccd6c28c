"""SAP implementations (ahn2024 Algorithm 2) written as a user would, following flatcheck's
closure protocol: closure(example=False) is the full loss f, closure(example=True) the loss of the
step's example. One correct, two broken; each broken one must come out falsified."""

from __future__ import annotations

import torch


class _SAPBase(torch.optim.Optimizer):
    def __init__(self, params, lr, rho, eps0=float("inf"), lr_prime=None):
        super().__init__(params, {"lr": lr, "rho": rho, "eps0": eps0, "lr_prime": lr_prime or lr})

    def sign(self) -> float:
        return 1.0 if torch.rand(()) < 0.5 else -1.0

    def outer_grad(self, closure, p, at: torch.Tensor) -> torch.Tensor:
        """∇f_i at the perturbed point."""
        p.add_(at)
        with torch.enable_grad():
            closure(example=True)
        p.sub_(at)
        return p.grad.clone()

    def project(self, gx: torch.Tensor, gp: torch.Tensor) -> torch.Tensor:
        """Proj⊥_{∇f(x)} of the perturbed per-example gradient (ahn2024 (7))."""
        return gp - (gx.dot(gp) / gx.dot(gx)) * gx

    @torch.no_grad()
    def step(self, closure):
        (p,) = self.param_groups[0]["params"]
        group = self.param_groups[0]
        with torch.enable_grad():
            loss = closure()
        gx = p.grad.clone()
        if gx.norm() > group["eps0"]:
            p.sub_(group["lr_prime"] * gx)
            return loss
        with torch.enable_grad():
            closure(example=True)
        gi = p.grad.clone()
        gp = self.outer_grad(closure, p, group["rho"] * self.sign() * gi / gi.norm())
        p.sub_(group["lr"] * (gx + self.project(gx, gp)))
        return loss


class ReferenceSAP(_SAPBase):
    """A correct, independently written SAP: must pass."""


class NoSignSAP(_SAPBase):
    """Always perturbs along +∇f_i (σ_t ≡ +1)."""

    def sign(self):
        return 1.0


class FullBatchOuterSAP(_SAPBase):
    """Takes the full-batch gradient ∇f at the perturbed point instead of ∇f_i."""

    def outer_grad(self, closure, p, at):
        p.add_(at)
        with torch.enable_grad():
            closure()
        p.sub_(at)
        return p.grad.clone()
