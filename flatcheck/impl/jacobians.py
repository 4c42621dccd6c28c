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

import dataclasses
from dataclasses import dataclass

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


# How a user's W (d × d) is handed to its optimizer: one matrix; its columns as tensors of one param
# group; each column a param group of its own. Definition 1 draws one S per step for all of w: a batch
# drawn per tensor or per param group shows only where there are several.
LINEAR_LAYOUTS = ("matrix", "columns", "groups")


class _Chain:
    """One chain of a user's class: its optimizer, built with torch's global RNG seeded `seed` (so that
    a class seeding a generator of its own from it, torch.initial_seed(), draws apart from the other
    chains'), on W = I in a layout of `LINEAR_LAYOUTS`, and the loss closure of its steps. Where
    `calls` is a list, every closure call appends (the index it was asked for, None for L; W then)."""

    def __init__(self, impl: Implementation, fam: HessianFamily, hp: dict, seed: int, layout: str = "matrix"):
        if layout not in LINEAR_LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; one of {', '.join(LINEAR_LAYOUTS)}")
        self.impl, self.fam, self.matrix = impl, fam, layout == "matrix"
        eye = torch.eye(fam.d, dtype=torch.float64)
        self.params = (
            [torch.nn.Parameter(eye.clone())]
            if self.matrix
            else [torch.nn.Parameter(eye[:, c].clone()) for c in range(fam.d)]
        )
        grouped = layout == "groups" and impl.factory is None
        seed_global(seed)
        self.opt = impl.make([{"params": [q]} for q in self.params] if grouped else self.params, hp)
        self.calls: list[tuple[torch.Tensor | None, torch.Tensor]] | None = None

    def w(self) -> torch.Tensor:
        """W (d, d) as the parameters hold it now."""
        return self.params[0].detach() if self.matrix else torch.stack([q.detach() for q in self.params], 1)

    def set(self, w: torch.Tensor) -> None:
        with torch.no_grad():
            for q, part in zip(self.params, [w] if self.matrix else w.unbind(1)):
                q.copy_(part)

    def closure(self, index: torch.Tensor | None = None) -> torch.Tensor:
        # The loss closure of flatcheck.impl.drivers (the driver zeroes the gradients): Σ_{i∈index} ℓ_i
        # of W, its columns stacked where they are tensors of their own.
        if index is not None:
            index = torch.as_tensor(index, dtype=torch.long).reshape(-1)
        if self.calls is not None:
            self.calls.append((None if index is None else index.clone(), self.w().clone()))
        loss = self.fam.loss(self.params[0] if self.matrix else torch.stack(self.params, 1), index)
        loss.backward()
        return loss

    def step(self) -> torch.Tensor:
        """One step of the class; W after it (d, d)."""
        impl, d = self.impl, self.fam.d
        try:
            impl.drive(self.opt, self.closure)
        except ProtocolError as e:
            raise ProtocolError(f"{impl.name}: {e}. {impl.spec.protocol}") from e
        want = (d, d) if self.matrix else (d,)
        for q in self.params:
            if q.shape != want:
                raise ProtocolError(f"{impl.name}.step changed a parameter's shape {want} -> {tuple(q.shape)}")
        out = self.w()
        if not torch.isfinite(out).all():
            raise NonFiniteError(f"{impl.name} produced NaN or inf parameters")
        return out


def jacobian_draws(impl: Implementation, fam: HessianFamily, hp: dict, draws: int, seed: int) -> torch.Tensor:
    """`draws` independent draws of Ĵ, read from one step of the implementation from W = I: (draws, d, d)."""
    if impl.batched_step is not None:
        x = torch.eye(fam.d, dtype=torch.float64).reshape(1, -1).expand(draws, -1).contiguous()
        return impl.step_many(fam, x, hp, seed).reshape(draws, fam.d, fam.d)
    with torch.random.fork_rng(devices=[]):
        return torch.stack([_Chain(impl, fam, hp, row_seed(seed, i)).step().clone() for i in range(draws)])


def _advance(
    impl: Implementation, fam: HessianFamily, hp: dict, w: torch.Tensor, runs: list[_Chain], seed: int
) -> torch.Tensor:
    if impl.batched_step is not None:
        chains = w.shape[0]
        return impl.step_many(fam, w.reshape(chains, -1), hp, seed).reshape(chains, fam.d, fam.d)
    for run, wi in zip(runs, w):
        run.set(wi)
    return torch.stack([run.step().clone() for run in runs])


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
            [] if impl.batched_step is not None else [_Chain(impl, fam, hp, row_seed(seed, i)) for i in range(chains)]
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


@dataclass
class StepRead:
    """One step of a user's class from W = I, read back (`batch_reads`): every closure call as (the
    index asked for, None for L; W then), and W after the step."""

    calls: list[tuple[torch.Tensor | None, torch.Tensor]]
    after: torch.Tensor


def batch_reads(
    impl: Implementation, fam: HessianFamily, hp: dict, chains: int, steps: int, seed: int, layout: str = "matrix"
) -> list[list[StepRead]]:
    """`steps` steps of each of `chains` optimizers (seeded apart, W in `layout`), every step from
    W = I, each step's closure calls and result kept: by chain, by step. W is put back to I before
    every step, so any number of steps stays finite and every step's S shows in the same way.
    flatcheck's built-in steps batched, without a closure: its optimizer class, which is what draws
    S, is run instead."""
    run = dataclasses.replace(impl, batched_step=None) if impl.batched_step is not None else impl
    eye = torch.eye(fam.d, dtype=torch.float64)
    out = []
    with torch.random.fork_rng(devices=[]):
        for i in range(chains):
            chain = _Chain(run, fam, hp, row_seed(seed, i), layout)
            reads = []
            for _ in range(steps):
                chain.set(eye)
                chain.calls = []
                after = chain.step().clone()
                reads.append(StepRead(chain.calls, after))
            out.append(reads)
    return out
