"""The papers' algorithms in torch: each a torch.optim.Optimizer and a batched functional step."""

from flatcheck.algorithms.rsp import RSP, rsp_directions, rsp_step

__all__ = ["RSP", "rsp_directions", "rsp_step"]
