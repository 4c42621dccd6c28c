"""More deliberately broken SAPs (ahn2024 Algorithm 2) beside tests/broken_sap.py: each must come
out falsified on at least one ahn2024 claim."""

from __future__ import annotations

import torch
from broken_sap import _SAPBase


class NoProjectionSAP(_SAPBase):
    """Forgets Proj⊥_{∇f(x)}: v_t = ∇f_i(x_t + ρσ_t g_{i,t})."""

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
        v = self.outer_grad(closure, p, group["rho"] * self.sign() * gi / gi.norm())
        p.sub_(group["lr"] * (gx + v))
        return loss
