"""All parameters of an optimizer as one flat vector x — the papers' view (norms, projections and
perturbations are global over every parameter group)."""

from __future__ import annotations

import torch


def params_of(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in opt.param_groups for p in group["params"]]


def setting(opt: torch.optim.Optimizer) -> dict:
    """The hyper-parameters of the whole model. The papers' algorithms take one η, ρ, σ, … for every
    parameter: param groups that set one differently are refused, not read as the first group's."""
    first = opt.param_groups[0]
    for i, group in enumerate(opt.param_groups[1:], 1):
        for key in opt.defaults:
            a, b = first.get(key), group.get(key)
            if a is not b and bool(a != b):
                raise ValueError(
                    f"{type(opt).__name__} takes one {key} for every parameter, as the paper's algorithm does; "
                    f"param group {i} sets {key}={b!r}, group 0 {key}={a!r}"
                )
    return first


def flat_grad(params: list[torch.Tensor]) -> torch.Tensor:
    """The gradients as one vector (zeros for a parameter without a gradient)."""
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])


def add_flat(params: list[torch.Tensor], flat: torch.Tensor) -> None:
    i = 0
    for p in params:
        n = p.numel()
        p.add_(flat[i : i + n].view_as(p))
        i += n


def save(params: list[torch.Tensor]) -> list[torch.Tensor]:
    return [p.detach().clone() for p in params]


def restore(params: list[torch.Tensor], saved: list[torch.Tensor]) -> None:
    """Put the parameters back exactly (x + a − a is not x in floating point)."""
    for p, s in zip(params, saved):
        p.copy_(s)


def evaluate_grad(closure, params: list[torch.Tensor], **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the closure (it zeroes gradients, computes the loss and calls backward) under grad mode;
    return (loss, flat gradient)."""
    with torch.enable_grad():
        loss = closure(**kwargs)
    return loss, flat_grad(params)


def own_generator(gen: torch.Generator | None, ref: torch.Tensor) -> torch.Generator:
    """The optimizer's generator on the parameters' device, seeded from torch's global RNG when the
    caller gave none (so torch.manual_seed makes a run reproducible)."""
    if gen is not None:
        return gen
    g = torch.Generator(device=ref.device)
    g.manual_seed(int(torch.randint(0, 2**62, ()).item()))
    return g
