"""Torch numerics: projections, sphere draws, gradients and Hessian-vector products."""

from flatcheck.numeric.chunks import Moments, chunked, streaming_moments
from flatcheck.numeric.lanczos import Eigenpairs, eigenpairs, exact_eigenpairs, lanczos_eigenpairs
from flatcheck.numeric.linalg import autograd_grad, hvp, proj_out, unit_sphere
from flatcheck.numeric.traces import (
    Operator,
    TraceEstimate,
    exact_trace,
    hessian_operator,
    hutchinson,
    hutchpp,
    loss_of_parameters,
    matrix_operator,
    trace,
)

__all__ = [
    "Eigenpairs",
    "Moments",
    "Operator",
    "TraceEstimate",
    "autograd_grad",
    "chunked",
    "eigenpairs",
    "exact_eigenpairs",
    "exact_trace",
    "hessian_operator",
    "hutchinson",
    "hutchpp",
    "hvp",
    "lanczos_eigenpairs",
    "loss_of_parameters",
    "matrix_operator",
    "proj_out",
    "streaming_moments",
    "trace",
    "unit_sphere",
]
