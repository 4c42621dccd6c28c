"""What RSP's step claims draw (ahn2024.rsp_step, ahn2024.rsp_direction)."""

from __future__ import annotations

from hypothesis import strategies as st

from flatcheck.problems import iterations, layouts, log_uniform


def step_scalars() -> dict[str, st.SearchStrategy]:
    """η, ρ, the optimizers' iteration and the parameters' layout of an RSP step instance."""
    return {"lr": log_uniform(-8, -4), "rho": log_uniform(-4, -1), "iteration": iterations(), "layout": layouts()}
