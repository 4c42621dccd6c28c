"""Driving an implementation of linearized SGD (dexter2024 Definition 1) on a family {H_i}.

The problem handed to the implementation is the family: per-example losses ℓ_i(W) = ½tr(WᵀH_iW)
of a parameter W (d × k). Its optimizer draws the mini-batch S itself — the sampling is part of
the algorithm the claims are about — and calls `closure(index=S)`, S a LongTensor of example
numbers (possibly empty); the closure zeroes the gradients, computes Σ_{i∈S} ℓ_i(W), calls
backward() and returns it (`closure()` alone computes L = (1/n)Σℓ_i). Hyper-parameters by
flatcheck name: lr (η), batch_size (B), n_examples (n), sampling ("bernoulli" | "without_replacement").

Starting from W = I, k steps leave W = Ĵ_k⋯Ĵ₁: one step gives draws of Ĵ, many give the products
whose norms Theorems 1 and 2 are about. flatcheck's own LinSGD steps thousands of chains at once;
a user's class is stepped one chain (one optimizer) at a time.
"""

from __future__ import annotations

import torch

from flatcheck.algorithms.linear_sgd import linsgd_step
from flatcheck.algorithms.sampling import minibatch_weights
from flatcheck.errors import NonFiniteError, ProtocolError
from flatcheck.impl.protocol import Implementation, row_seed, seed_global
from flatcheck.problems.dexter_families import HessianFamily


def linsgd_batched(
    fam: HessianFamily, x: torch.Tensor, hp: dict, gen: torch.Generator, antithetic: bool = False, draw: None = None
) -> torch.Tensor:
    """The built-in batched step in the protocol's form: rows of x (chains, d·k) are flattened W (the
    mini-batch is the algorithm's own draw, so the harness draws nothing)."""
    chains = x.shape[0]
    w = x.reshape(chains, fam.d, -1)
    weights = minibatch_weights(
        chains, fam.n, int(hp["batch_size"]), hp.get("sampling", "bernoulli"), gen, x.dtype, x.device
    )
    return linsgd_step(fam.hs.to(x.device), w, weights, hp["lr"]).reshape(chains, -1)


def _user_chain(impl: Implementation, fam: HessianFamily, hp: dict, seed: int) -> tuple[torch.nn.Parameter, object]:
    """One chain: its optimizer built with torch's global RNG seeded `seed`, so that a class seeding a
    generator of its own from it (torch.initial_seed()) draws apart from the other chains'."""
    p = torch.nn.Parameter(torch.eye(fam.d, dtype=torch.float64))
    seed_global(seed)
    opt = impl.make([p], hp)

    def closure(index: torch.Tensor | None = None) -> torch.Tensor:
        # The loss closure of flatcheck.impl.drivers: the driver zeroes the gradients.
        loss = fam.loss(p, index)
        loss.backward()
        return loss

    return p, lambda: _step(impl, opt, closure, p, fam.d)


def _step(impl: Implementation, opt, closure, p: torch.nn.Parameter, d: int) -> torch.Tensor:
    try:
        impl.drive(opt, closure)
    except ProtocolError as e:
        raise ProtocolError(f"{impl.name}: {e}. {impl.spec.protocol}") from e
    out = p.detach()
    if out.shape != (d, d):
        raise ProtocolError(f"{impl.name}.step changed the parameter shape ({d}, {d}) -> {tuple(out.shape)}")
    if not torch.isfinite(out).all():
        raise NonFiniteError(f"{impl.name} produced NaN or inf parameters")
    return out


def jacobian_draws(impl: Implementation, fam: HessianFamily, hp: dict, draws: int, seed: int) -> torch.Tensor:
    """`draws` independent draws of Ĵ, read from one step of the implementation from W = I: (draws, d, d)."""
    if impl.batched_step is not None:
        x = torch.eye(fam.d, dtype=torch.float64).reshape(1, -1).expand(draws, -1).contiguous()
        return impl.step_many(fam, x, hp, seed).reshape(draws, fam.d, fam.d)
    with torch.random.fork_rng(devices=[]):
        return torch.stack([_user_chain(impl, fam, hp, row_seed(seed, i))[1]().clone() for i in range(draws)])


def _advance(
    impl: Implementation, fam: HessianFamily, hp: dict, w: torch.Tensor, runs: list, seed: int
) -> torch.Tensor:
    if impl.batched_step is not None:
        chains = w.shape[0]
        return impl.step_many(fam, w.reshape(chains, -1), hp, seed).reshape(chains, fam.d, fam.d)
    with torch.no_grad():
        for (p, _), wi in zip(runs, w):
            p.copy_(wi)
    return torch.stack([step().clone() for _, step in runs])


def log_norm_paths(
    impl: Implementation, fam: HessianFamily, hp: dict, chains: int, steps: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """log‖P_k‖₂ and log‖P_k‖_F, P_k = Ĵ_k⋯Ĵ₁, for k = 1..steps over independent chains: (steps, chains)
    each. The dynamics are linear, so W is renormalised after every step and its scale kept in log form:
    growth or decay by any factor is represented without overflow."""
    log2, logf = [], []
    log_scale = torch.zeros(chains, dtype=torch.float64)
    w = torch.eye(fam.d, dtype=torch.float64).expand(chains, -1, -1).contiguous()
    with torch.random.fork_rng(devices=[]):
        # A user's optimizer draws from torch's global RNG: each chain's seeded apart, the state not leaked.
        runs = (
            []
            if impl.batched_step is not None
            else [_user_chain(impl, fam, hp, row_seed(seed, i)) for i in range(chains)]
        )
        for t in range(steps):
            w = _advance(impl, fam, hp, w, runs, seed + t)
            fro = torch.linalg.matrix_norm(w, ord="fro")
            log2.append(log_scale + torch.linalg.matrix_norm(w, ord=2).log())
            logf.append(log_scale + fro.log())
            safe = torch.where(fro > 0, fro, 1.0)
            log_scale = log_scale + safe.log()
            w = w / safe[:, None, None]
    return torch.stack(log2), torch.stack(logf)
