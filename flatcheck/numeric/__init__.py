"""Torch numerics: projections, sphere draws, gradients and Hessian-vector products."""

from flatcheck.numeric.linalg import autograd_grad, hvp, proj_out, unit_sphere

__all__ = ["autograd_grad", "hvp", "proj_out", "unit_sphere"]
