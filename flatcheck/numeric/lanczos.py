"""Top and bottom eigenpairs of a symmetric operator: Lanczos with full reorthogonalisation.

Lanczos builds an orthonormal Krylov basis q₀, q₁, … of A from one product per step and the
tridiagonal T = QᵀAQ; the Ritz pairs (θ, Qs) of T converge first at both ends of the spectrum.
Every new vector is reorthogonalised twice against the whole basis (classical Gram–Schmidt
twice, "twice is enough"), so no ghost copies of converged eigenvalues appear and the residual
‖Ay − θy‖ = |β_m s_m| of each Ritz pair is a rigorous bound: some eigenvalue of A lies within it.
A breakdown (an invariant Krylov subspace, β = 0) is continued with a fresh random vector
orthogonal to the basis, decided on the device without a host round-trip. Convergence is
checked every `check_every` steps (one small eigh and one host sync per check).
For small d, `exact_eigenpairs` forms A densely (d products) and calls eigh: the reference.

Limitation (of every single-vector Krylov method): each invariant block of the Krylov space holds
one copy of a repeated eigenvalue, so the k-th largest of a spectrum with exact multiplicities is
found only after breakdowns have restarted the basis in the complement (convergence is never
declared right after a breakdown); the residual bounds say how close θ is to *some* eigenvalue.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from flatcheck.numeric.traces import Operator, dense


@dataclass
class Eigenpairs:
    """k eigenvalues (ascending) with unit eigenvectors as rows, residual bounds and cost."""

    values: torch.Tensor
    vectors: torch.Tensor
    residuals: torch.Tensor
    products: int
    steps: int
    converged: bool


def _pick(n: int, k: int, which: str) -> slice:
    if which not in ("top", "bottom"):
        raise ValueError(f"which must be 'top' or 'bottom' (got {which!r})")
    return slice(n - k, n) if which == "top" else slice(0, k)


def exact_eigenpairs(op: Operator, k: int = 1, which: str = "top") -> Eigenpairs:
    """The k largest ('top') or smallest ('bottom') eigenpairs from the dense matrix (d products)."""
    start = op.products
    vals, vecs = torch.linalg.eigh(dense(op))
    sel = _pick(op.d, k, which)
    zeros = torch.zeros(k, dtype=op.dtype, device=op.device)
    return Eigenpairs(vals[sel], vecs[:, sel].T, zeros, op.products - start, op.d, True)


def _orthogonalise(w: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    for _ in range(2):
        w = w - (basis @ w) @ basis
    return w


def lanczos_eigenpairs(
    op: Operator,
    k: int = 1,
    which: str = "top",
    generator: torch.Generator | None = None,
    max_steps: int | None = None,
    rtol: float = 1e-8,
    check_every: int = 5,
    start: torch.Tensor | None = None,
) -> Eigenpairs:
    """The k largest or smallest eigenpairs by Lanczos, stopping when every wanted Ritz residual
    is ≤ rtol·‖T‖ (max |Ritz value|) or after max_steps (≤ d) steps."""
    d = op.d
    steps_cap = min(max_steps or d, d)
    if not 1 <= k <= steps_cap:
        raise ValueError(f"need 1 ≤ k ≤ steps ({steps_cap}), got k={k}")
    _pick(steps_cap, k, which)
    gen = generator if generator is not None else torch.Generator(device=op.device).manual_seed(0)
    kw = {"dtype": op.dtype, "device": op.device}
    q0 = start.to(**kw) if start is not None else torch.randn(d, generator=gen, **kw)
    basis = torch.zeros(steps_cap + 1, d, **kw)
    basis[0] = q0 / torch.linalg.vector_norm(q0)
    alphas = torch.zeros(steps_cap, **kw)
    betas = torch.zeros(steps_cap, **kw)
    first = op.products
    tiny = torch.finfo(op.dtype).eps
    for j in range(steps_cap):
        w = op(basis[j : j + 1])[0]
        alphas[j] = w @ basis[j]
        w = _orthogonalise(w, basis[: j + 1])
        beta = torch.linalg.vector_norm(w)
        # Breakdown: the Krylov space is invariant (to ~1e6·eps relative: dropping a β that small
        # moves Ritz values by at most β); restart with a random orthogonal direction.
        fresh = _orthogonalise(torch.randn(d, generator=gen, **kw), basis[: j + 1])
        scale = torch.cat([alphas[: j + 1], betas[:j]]).abs().max()
        ok = beta > 1e6 * tiny * torch.clamp(scale, min=tiny)
        betas[j] = torch.where(ok, beta, torch.zeros_like(beta))
        basis[j + 1] = torch.where(ok, w / torch.clamp(beta, min=tiny), fresh / torch.linalg.vector_norm(fresh))
        m = j + 1
        if m % check_every == 0 or m == steps_cap:
            pairs = _ritz(alphas[:m], betas[:m], basis[:m], k, which)
            small = (pairs.residuals <= rtol * pairs.values.abs().max().clamp(min=tiny)).all()
            # Not right after a breakdown: the complement of the invariant subspace is unexplored
            # and may hold more (or further copies of) wanted eigenvalues.
            if m >= k and bool(small & ok):
                return Eigenpairs(pairs.values, pairs.vectors, pairs.residuals, op.products - first, m, True)
    return Eigenpairs(pairs.values, pairs.vectors, pairs.residuals, op.products - first, steps_cap, m == d)


def _ritz(alphas: torch.Tensor, betas: torch.Tensor, basis: torch.Tensor, k: int, which: str) -> Eigenpairs:
    """Ritz pairs of the m-step tridiagonal T; residual of pair i is |β_m s_{m,i}|."""
    m = alphas.shape[0]
    t = torch.diag(alphas) + torch.diag(betas[: m - 1], 1) + torch.diag(betas[: m - 1], -1)
    theta, s = torch.linalg.eigh(t)
    sel = _pick(m, min(k, m), which)
    vectors = s[:, sel].T @ basis
    residuals = (betas[m - 1] * s[m - 1, sel]).abs()
    return Eigenpairs(theta[sel], vectors, residuals, 0, m, False)


def eigenpairs(op: Operator, k: int = 1, which: str = "top", exact_below: int = 512, **lanczos) -> Eigenpairs:
    """Exact (dense eigh) when d ≤ exact_below, Lanczos otherwise."""
    if op.d <= exact_below:
        return exact_eigenpairs(op, k, which)
    return lanczos_eigenpairs(op, k, which, **lanczos)
