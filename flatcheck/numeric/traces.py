"""Hessian traces: exact for small d, Hutchinson and Hutch++ with confidence intervals.

Everything works on a symmetric operator known only through batched products V ↦ VA (rows of V
are vectors): an explicit matrix, the Hessian of a function of a vector, or the Hessian of a
network's loss in its flattened parameters. Hessian-vector products are batched with
torch.func (forward-over-reverse: vmap of jvp of grad), so k probes cost one call, on whichever
device the point lives on; nothing in the inner loops leaves the device.

- Hutchinson (1989): tr A = E zᵀAz for Rademacher z; the mean of m quadratic forms with a
  Student-t interval (the forms are i.i.d.).
- Hutch++ (Meyer, Musco, Musco, Woodruff 2021, Algorithm 1): with m products, sketch Q = orth(AS)
  from m/3 Rademacher columns S, take tr(QᵀAQ) exactly and apply Hutchinson to the deflated
  (I−QQᵀ)A(I−QQᵀ) with the remaining m/3 probes. Relative error ε with O(1/ε) products for PSD A
  instead of Hutchinson's O(1/ε²). The interval is the t-interval of the residual's forms, which
  are i.i.d. given Q; tr(QᵀAQ) is exact given Q.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from flatcheck.numeric.chunks import Moments, chunked, streaming_moments

MatMat = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Operator:
    """A symmetric d×d operator A given by batched products V (k, d) ↦ VA (k, d).

    `products` counts matrix-vector products (Hessian-vector products for a Hessian) so far;
    `chunk` caps how many rows go through `matmat` at once (memory)."""

    matmat: MatMat
    d: int
    dtype: torch.dtype = torch.float64
    device: torch.device | str = "cpu"
    chunk: int | None = None
    products: int = 0

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        self.products += v.shape[0]
        return chunked(self.matmat, v, self.chunk)


def matrix_operator(a: torch.Tensor, chunk: int | None = None) -> Operator:
    """The operator of an explicit symmetric matrix."""
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"need a square matrix, got shape {tuple(a.shape)}")
    return Operator(lambda v: v @ a, a.shape[0], a.dtype, a.device, chunk)


def hessian_operator(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, chunk: int | None = None) -> Operator:
    """∇²f(x) for a scalar f of a vector x (d,), by batched forward-over-reverse HVPs."""
    if x.ndim != 1:
        raise ValueError(f"hessian_operator needs a point of shape (d,), got {tuple(x.shape)}")
    x = x.detach()
    grad = torch.func.grad(f)

    def one(v: torch.Tensor) -> torch.Tensor:
        return torch.func.jvp(grad, (x,), (v,))[1]

    return Operator(torch.func.vmap(one), x.shape[0], x.dtype, x.device, chunk)


def loss_of_parameters(
    model: torch.nn.Module, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], inputs, targets
) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    """A network's loss as a function of its flattened parameters, and the current flat vector.

    f(θ) = loss(model_θ(inputs), targets), with θ laid out as torch.nn.utils.parameters_to_vector."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    theta = torch.nn.utils.parameters_to_vector(model.parameters()).detach()

    def f(flat: torch.Tensor) -> torch.Tensor:
        parts = {n: t.view(s) for n, t, s in zip(names, flat.split(sizes), shapes)}
        return loss(torch.func.functional_call(model, parts, (inputs,)), targets)

    return f, theta


def rademacher(k: int, d: int, generator: torch.Generator, dtype=torch.float64, device="cpu") -> torch.Tensor:
    """k Rademacher vectors (entries ±1 with probability ½), shape (k, d)."""
    bits = torch.randint(0, 2, (k, d), generator=generator, device=device)
    return (2 * bits - 1).to(dtype)


@dataclass
class TraceEstimate:
    """An estimate of tr A with a (1 − alpha) interval [estimate − half_width, estimate + half_width]."""

    estimate: float
    half_width: float
    products: int
    method: str
    alpha: float

    @property
    def interval(self) -> tuple[float, float]:
        return self.estimate - self.half_width, self.estimate + self.half_width

    def covers(self, value: float) -> bool:
        return abs(value - self.estimate) <= self.half_width


def _t_half_width(m: Moments, alpha: float) -> float:
    if m.count < 2:
        return float("inf")
    # Imported here: scipy costs seconds to import and every flatcheck process imports numeric.
    from scipy.special import stdtrit

    return float(stdtrit(m.count - 1, 1 - alpha / 2) * m.sem)


def _forms(op: Operator, probes: Callable[[int], torch.Tensor]) -> Callable[[int], torch.Tensor]:
    """A sampler of quadratic forms zᵀAz for k fresh probes z, shape (k, 1)."""

    def sample(k: int) -> torch.Tensor:
        z = probes(k)
        return (z * op(z)).sum(-1, keepdim=True)

    return sample


def exact_trace(op: Operator) -> TraceEstimate:
    """tr A = Σ e_iᵀAe_i from d products (rows of the identity, in chunks)."""
    eye_chunk = op.chunk or op.d
    total = torch.zeros((), dtype=op.dtype, device=op.device)
    for start in range(0, op.d, eye_chunk):
        idx = torch.arange(start, min(start + eye_chunk, op.d), device=op.device)
        rows = torch.nn.functional.one_hot(idx, op.d).to(op.dtype)
        total = total + op(rows)[torch.arange(idx.numel(), device=op.device), idx].sum()
    return TraceEstimate(float(total), 0.0, op.d, "exact", 0.0)


def dense(op: Operator) -> torch.Tensor:
    """The full matrix A (d products), symmetrised to remove round-off asymmetry."""
    eye = torch.eye(op.d, dtype=op.dtype, device=op.device)
    a = op(eye)
    return (a + a.T) / 2


def hutchinson(op: Operator, probes: int, generator: torch.Generator, alpha: float = 0.05) -> TraceEstimate:
    """Hutchinson's estimator with `probes` Rademacher probes (that many products)."""
    if probes < 2:
        raise ValueError(f"Hutchinson needs at least 2 probes for an interval (got {probes})")
    start = op.products
    sample = _forms(op, lambda k: rademacher(k, op.d, generator, op.dtype, op.device))
    m = streaming_moments(sample, probes, op.chunk or probes)
    return TraceEstimate(float(m.mean), _t_half_width(m, alpha), op.products - start, "hutchinson", alpha)


def hutchpp(op: Operator, products: int, generator: torch.Generator, alpha: float = 0.05) -> TraceEstimate:
    """Hutch++ (Meyer et al. 2021, Algorithm 1) with `products` products in all (≥ 4).

    k = products//3 sketch columns, k products for AQ, and products − 2k residual probes."""
    k = products // 3
    residual = products - 2 * k
    if k < 1 or residual < 2:
        raise ValueError(f"Hutch++ needs at least 4 products (got {products})")
    start = op.products
    s = rademacher(k, op.d, generator, op.dtype, op.device)
    q = torch.linalg.qr(op(s).T).Q  # (d, k): orthonormal basis of range(AS)
    low_rank = (q.T * op(q.T)).sum()  # tr(QᵀAQ), exact given Q

    def deflated_probes(n: int) -> torch.Tensor:
        g = rademacher(n, op.d, generator, op.dtype, op.device)
        return g - (g @ q) @ q.T  # (I − QQᵀ)g: forms gᵀ(I−QQᵀ)A(I−QQᵀ)g

    m = streaming_moments(_forms(op, deflated_probes), residual, op.chunk or residual)
    est = float(low_rank + m.mean)
    return TraceEstimate(est, _t_half_width(m, alpha), op.products - start, "hutch++", alpha)


def trace(op: Operator, products: int, generator: torch.Generator, alpha: float = 0.05) -> TraceEstimate:
    """tr A within a budget of products: exact when d ≤ products, Hutch++ otherwise."""
    if op.d <= products:
        return exact_trace(op)
    return hutchpp(op, products, generator, alpha)
