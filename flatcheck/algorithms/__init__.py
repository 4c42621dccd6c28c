"""The papers' algorithms in torch: each a torch.optim.Optimizer and a batched functional step."""

from flatcheck.algorithms.ascent import AscentGD, ascent_grad, ascent_step
from flatcheck.algorithms.gd import GD, SGD, gd_step, sgd_step
from flatcheck.algorithms.nso import NSO, WPSGD, nso_step, wp_step
from flatcheck.algorithms.rsp import RSP, rsp_directions, rsp_step
from flatcheck.algorithms.sam import SAM, sam_step, sam_step_example, unit_rows
from flatcheck.algorithms.sampling import (
    LAWS,
    NOISES,
    SAMPLINGS,
    SPARSE_P,
    example_indices,
    minibatch_weights,
    random_signs,
    small_vectors,
    symmetric_noise,
)
from flatcheck.algorithms.sap import SAP, sap_direction, sap_step

__all__ = [
    "GD",
    "LAWS",
    "NOISES",
    "NSO",
    "RSP",
    "SAM",
    "SAMPLINGS",
    "SPARSE_P",
    "SAP",
    "SGD",
    "WPSGD",
    "AscentGD",
    "ascent_grad",
    "ascent_step",
    "example_indices",
    "gd_step",
    "minibatch_weights",
    "nso_step",
    "random_signs",
    "rsp_directions",
    "rsp_step",
    "sam_step",
    "sam_step_example",
    "sap_direction",
    "sap_step",
    "sgd_step",
    "small_vectors",
    "symmetric_noise",
    "unit_rows",
    "wp_step",
]
