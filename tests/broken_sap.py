"""SAP implementations (ahn2024 Algorithm 2) written as a user would, following flatcheck's
closure protocol: closure(example=False) is the full loss f, closure(example=True) the loss of the
step's example. One correct, two broken; each broken one must come out falsified."""

from __future__ import annotations

import torch
from user_two_phase import TwoPhaseUser


class _SAPBase(TwoPhaseUser):
    def sign(self) -> float:
        return 1.0 if torch.rand(()) < 0.5 else -1.0

    def outer_grad(self, closure, p, at: torch.Tensor) -> torch.Tensor:
        """∇f_i at the perturbed point."""
        return self.gradient_at(closure, p, at, example=True)

    def project(self, gx: torch.Tensor, gp: torch.Tensor) -> torch.Tensor:
        """Proj⊥_{∇f(x)} of the perturbed per-example gradient (ahn2024 (7))."""
        return gp - (gx.dot(gp) / gx.dot(gx)) * gx

    def correction(self, closure, p, gx, group):
        """v_t = Proj⊥_{∇f(x_t)} ∇f_i(x_t + ρσ_t∇f_i(x_t)/‖∇f_i(x_t)‖)."""
        with torch.enable_grad():
            closure(example=True)
        gi = p.grad.clone()
        return self.project(gx, self.outer_grad(closure, p, group["rho"] * self.sign() * gi / gi.norm()))


class ReferenceSAP(_SAPBase):
    """A correct, independently written SAP: must pass."""


class NoSignSAP(_SAPBase):
    """Always perturbs along +∇f_i (σ_t ≡ +1)."""

    def sign(self):
        return 1.0


class FullBatchOuterSAP(_SAPBase):
    """Takes the full-batch gradient ∇f at the perturbed point instead of ∇f_i."""

    def outer_grad(self, closure, p, at):
        return self.gradient_at(closure, p, at)
