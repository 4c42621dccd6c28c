"""NSO variants (the NSO paper's Algorithm 1) beside tests/broken_nso.py: one noise draw reused for
all k perturbations of a step, and a correct NSO that takes the noise law P as a hyper-parameter."""

from __future__ import annotations

import math

import torch
from broken_nso import _NSOBase


class SameNoiseForAllKNSO(_NSOBase):
    """Draws U once per step and uses it for all k pairs: the k-average then reduces no variance."""

    @torch.no_grad()
    def step(self, closure):
        (p,) = self.param_groups[0]["params"]
        u = self.noise(p)
        total = torch.zeros_like(p)
        for _ in range(self.param_groups[0]["k"]):
            loss, g = self.pair(closure, p, u)
            total += g
        p.sub_(self.scale() * total)
        return loss


class NoiseLawNSO(_NSOBase):
    """Correct, with P chosen by a `noise` hyper-parameter: i.i.d. coordinates of standard deviation σ."""

    def __init__(self, params, lr, sigma, k=1, noise="gaussian"):
        super().__init__(params, lr, sigma, k)
        self.law = noise

    def noise(self, p):
        s = self.param_groups[0]["sigma"]
        if self.law == "gaussian":
            return s * torch.randn_like(p)
        if self.law == "uniform":
            return s * math.sqrt(3.0) * (2 * torch.rand_like(p) - 1)
        if self.law == "rademacher":
            return s * torch.where(torch.rand_like(p) < 0.5, -1.0, 1.0).to(p.dtype)
        return torch.distributions.Laplace(0.0, s / math.sqrt(2.0)).sample(p.shape).to(p.dtype)


class GaussianOnlyNSO(NoiseLawNSO):
    """Accepts a `noise` hyper-parameter but always draws Gaussian noise: wrong under the other laws."""

    def noise(self, p):
        return self.param_groups[0]["sigma"] * torch.randn_like(p)
