"""A small MLP trained on scikit-learn's bundled digits data (no download).

The NSO paper measures, on trained networks, the noise-injection gap ℓ_Q − ℓ against
½σ²Tr[∇²f] (Table 2, §2.2; Appendix C trains a two-layer MLP on MNIST "until the training loss
is close to zero"). flatcheck's stand-in is a two-layer tanh MLP on the 8×8 digits: tanh keeps
the loss three times differentiable with a Lipschitz Hessian (the setting of Theorem 2.2 and
Lemma A.4), and the model is small enough for an exact Hessian trace.

    digits_mlp(hidden=16, seed=0) -> (model, loss_fn, data)

trains once per (hidden, seed, steps) and caches the result within the process (a second or so);
`flat_loss` turns the trained model into a batched function of flat weight vectors, which Monte
Carlo checks evaluate at many perturbed weights at once; `hessian_trace` is exact.
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from flatcheck import cache
from flatcheck.errors import FlatcheckError

N_TRAIN = 1000  # of the 1797 digits; the rest is the validation split
CHUNK = 128  # weight vectors evaluated at once by `flat_loss` (bounds memory: CHUNK·n·hidden)


@dataclass(frozen=True)
class DigitsData:
    x_train: torch.Tensor  # (n, 64), pixel intensities scaled to [0, 1]
    y_train: torch.Tensor  # (n,) class labels 0..9
    x_val: torch.Tensor
    y_val: torch.Tensor


@lru_cache(maxsize=2)
def load_digits_data(dtype: torch.dtype = torch.float64) -> DigitsData:
    """The bundled 8×8 digits, shuffled with a fixed seed, split 1000 train / 797 validation."""
    table = np.loadtxt(_digits_file(), delimiter=",")  # what sklearn's load_digits() reads: pixels, then the label
    x = torch.tensor(table[:, :-1], dtype=dtype) / 16.0
    y = torch.tensor(table[:, -1].astype(int), dtype=torch.long)
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    x, y = x[perm], y[perm]
    return DigitsData(x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:])


def _digits_file() -> Path:
    """scikit-learn's bundled digits.csv.gz, found without importing scikit-learn (a second of CPU
    in every process that loads the data, for a file of 1797 rows)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise FlatcheckError("the digits data come with scikit-learn: install scikit-learn")
    return Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"


def make_mlp(hidden: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.nn.Sequential:
    """64 → hidden → 10 with tanh, initialised like nn.Linear (U(±1/√fan_in)) from a seeded generator."""
    model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 10)).to(dtype)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in (model[0], model[2]):
            bound = layer.in_features**-0.5
            for p in (layer.weight, layer.bias):
                p.copy_((torch.rand(p.shape, generator=gen, dtype=dtype) * 2 - 1) * bound)
    return model


def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy, the training loss ℓ of the paper's classification experiments."""
    return torch.nn.functional.cross_entropy(logits, y)


@lru_cache(maxsize=8)
def _trained(hidden: int, seed: int, steps: int) -> torch.nn.Sequential:
    """The trained model. Training is deterministic (full batch, seeded), so its weights are kept on
    disk (`flatcheck.cache`), keyed by the arguments, this file, the versions of torch and of
    scikit-learn (the data) and torch's thread count (the order of a matmul's sums): a warm run
    neither trains nor imports torch._dynamo, which the first torch.optim.Optimizer built imports
    (about a second)."""
    load_digits_data()  # first: without scikit-learn, its clear error rather than a missing version
    key = (
        f"hidden={hidden} seed={seed} steps={steps} torch {torch.__version__} threads {torch.get_num_threads()} "
        f"scikit-learn {cache.version_of('scikit-learn')} {cache.source_hash(Path(__file__))}"
    )
    model = make_mlp(hidden, seed)
    model.load_state_dict(cache.memo("digits_mlp", key, lambda: _train(hidden, seed, steps)))
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _train(hidden: int, seed: int, steps: int) -> dict[str, torch.Tensor]:
    data = load_digits_data()
    model = make_mlp(hidden, seed)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):  # full batch: deterministic given the seed
        opt.zero_grad()
        loss = loss_fn(model(data.x_train), data.y_train)
        loss.backward()
        opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def digits_mlp(
    hidden: int = 16, seed: int = 0, steps: int = 300
) -> tuple[torch.nn.Sequential, Callable[[torch.Tensor, torch.Tensor], torch.Tensor], DigitsData]:
    """A trained two-layer tanh MLP (64 → hidden → 10), its loss and the data.

    Trained full-batch with Adam until the training loss is small, as in Appendix C ("until the
    training loss is close to zero"); cached per process, returned as a fresh copy."""
    if hidden < 1 or steps < 0:
        raise ValueError(f"digits_mlp needs hidden ≥ 1 and steps ≥ 0 (got hidden={hidden}, steps={steps})")
    model = copy.deepcopy(_trained(hidden, seed, steps))
    for p in model.parameters():
        p.requires_grad_(True)
    return model, loss_fn, load_digits_data()


def flat_weights(model: torch.nn.Sequential) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _split(model: torch.nn.Sequential, w: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Flat weights (B, p) -> W₁ (B, h, 64), b₁ (B, h), W₂ (B, 10, h), b₂ (B, 10)."""
    h, i = model[0].weight.shape
    o = model[2].weight.shape[0]
    w1, b1, w2, b2 = w.split([h * i, h, o * h, o], dim=-1)
    return w1.reshape(-1, h, i), b1, w2.reshape(-1, o, h), b2


def flat_loss(
    model: torch.nn.Sequential, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """(w₀, f) with w₀ the model's flat weights and f: (..., p) -> (...) the training loss at
    any batch of flat weight vectors (same layout as `flat_weights`)."""
    xt = x.T.contiguous()

    def f(w: torch.Tensor) -> torch.Tensor:
        flat = w.reshape(-1, w.shape[-1])
        outs = []
        for part in flat.split(CHUNK):
            w1, b1, w2, b2 = _split(model, part)
            hidden = torch.tanh(w1 @ xt + b1[..., None])  # (B, h, n)
            logits = w2 @ hidden + b2[..., None]  # (B, o, n)
            logp = torch.log_softmax(logits, dim=1)
            outs.append(-logp.gather(1, y.expand(part.shape[0], 1, -1)).mean((1, 2)))
        return torch.cat(outs).reshape(w.shape[:-1])

    return flat_weights(model), f


def quadratic_form(model: torch.nn.Sequential, x: torch.Tensor, y: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """uᵀ∇²ℓ(w₀)u for each row of u (B, p), exact, at the model's weights (no Hessian formed).

    Along w₀ + tu: h = W₁x + b₁, a = tanh h, z = W₂a + b₂; with dh = dW₁x + db₁, da = a'dh,
    d²a = a''dh², dz = dW₂a + W₂da + db₂, d²z = 2dW₂da + W₂d²a, and p = softmax z,
        uᵀ∇²ℓ u = mean_n [dzᵀ(diag p − ppᵀ)dz + (p − e_y)ᵀd²z]."""
    first, last = model[0], model[2]
    xt = x.T.contiguous()
    outs = []
    with torch.no_grad():
        a = torch.tanh(first.weight @ xt + first.bias[:, None])  # (h, n)
        p = torch.softmax(last.weight @ a + last.bias[:, None], dim=0)  # (o, n)
        resid = p - torch.nn.functional.one_hot(y, p.shape[0]).T.to(p.dtype)
        da_dh, d2a_dh2 = 1 - a**2, -2 * a * (1 - a**2)
        for part in u.split(CHUNK):
            dw1, db1, dw2, db2 = _split(model, part)
            dh = dw1 @ xt + db1[..., None]  # (B, h, n)
            da = da_dh * dh
            dz = dw2 @ a + last.weight @ da + db2[..., None]  # (B, o, n)
            d2z = 2 * dw2 @ da + last.weight @ (d2a_dh2 * dh**2)
            curv = (p * dz**2).sum(1) - (p * dz).sum(1) ** 2 + (resid * d2z).sum(1)
            outs.append(curv.mean(-1))
    return torch.cat(outs)


def hessian_trace(f: Callable[[torch.Tensor], torch.Tensor], w: torch.Tensor) -> float:
    """Tr ∇²f(w), exact, from the full Hessian (torch.func): a cross-check for small models."""
    return float(torch.diagonal(torch.func.hessian(f)(w)).sum())


def hessian_diagonal(model: torch.nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """diag ∇²ℓ at the model's weights, exact and in closed form (same layout as `flat_weights`).

    With a = tanh(W₁x + b₁), z = W₂a + b₂, p = softmax(z), ℓ = mean CE, and S = diag p − ppᵀ:
        ∂²ℓ/∂(W₂)_{oh}² = mean a_h² S_oo,   ∂²ℓ/∂(b₂)_o² = mean S_oo,
        ∂²ℓ/∂(W₁)_{hi}² = mean x_i² [a'_h² w_hᵀ S w_h + a''_h w_hᵀ(p − e_y)],  w_h = W₂[:, h],
    with a' = 1 − a², a'' = −2a(1 − a²); (b₁)_h is the same with x_i = 1."""
    first, last = model[0], model[2]
    with torch.no_grad():
        a = torch.tanh(x @ first.weight.T + first.bias)
        p = torch.softmax(a @ last.weight.T + last.bias, dim=-1)
        s_diag = p * (1 - p)
        resid = p - torch.nn.functional.one_hot(y, p.shape[-1]).to(p.dtype)
        w2 = last.weight  # (o, h)
        # w_hᵀ S w_h = Σ_o W₂[o,h]² p_o − (Σ_o W₂[o,h] p_o)²
        quad = (p @ w2**2) - (p @ w2) ** 2
        da, dda = 1 - a**2, -2 * a * (1 - a**2)
        core = da**2 * quad + dda * (resid @ w2)  # (n, h)
        n = x.shape[0]
        d_w1 = (core.T @ x**2) / n
        d_b1 = core.mean(0)
        d_w2 = (s_diag.T @ a**2) / n
        d_b2 = s_diag.mean(0)
    return torch.cat([d_w1.reshape(-1), d_b1, d_w2.reshape(-1), d_b2])
