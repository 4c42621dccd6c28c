"""The coherence measure σ of dexter2024 Definition 2, and the per-example Hessians it is computed from.

    S_ij = ‖H_i^{1/2} H_j^{1/2}‖_F  (equivalently the entry-wise square root of the trace Gram matrix
    G_ij = tr[H_i H_j]),   σ = λ₁(S) / max_i λ₁(H_i).

Both forms are computed: the square-root form from eigendecompositions (with a certified round-off
bound, see `sqrt_form`), the Gram form from traces. For a model with small d the per-example Hessians
are exact (autograd, `flatcheck.problems.dexter_families`); for larger d the Gram matrix is sketched
from Hessian-vector products (Hutchinson: tr[H_iH_j] = E zᵀH_iH_jz = E ⟨H_iz, H_jz⟩ for z with E zzᵀ = I).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

EPS = torch.finfo(torch.float64).eps


def psd_sqrt(hs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Principal square roots of symmetric PSD matrices (..., d, d), and for each a bound r on
    ‖√H_computed − √H‖₂. The computed root R is the exact PSD root of R², and the square root is
    operator monotone with ‖√X − √Y‖₂ ≤ √‖X − Y‖₂, so r = √‖R² − H‖₂ (measured, plus round-off)."""
    lam, vec = torch.linalg.eigh(hs)
    root = (vec * lam.clamp(min=0).sqrt().unsqueeze(-2)) @ vec.transpose(-1, -2)
    resid = torch.linalg.matrix_norm(root @ root - hs, ord=2)
    scale = torch.linalg.matrix_norm(hs, ord=2)
    d = hs.shape[-1]
    return root, (resid + 4 * d * EPS * scale).sqrt()


def sqrt_form(hs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """S_ij = ‖H_i^{1/2}H_j^{1/2}‖_F for hs (n, d, d), and an entry-wise bound on its round-off error:
    |S̃_ij − S_ij| ≤ √d (r_i‖R̃_j‖₂ + (‖R̃_i‖₂ + r_i) r_j) from the root errors r of `psd_sqrt`."""
    root, r = psd_sqrt(hs)
    prod = root.unsqueeze(1) @ root.unsqueeze(0)
    s = torch.linalg.matrix_norm(prod, ord="fro")
    rn = torch.linalg.matrix_norm(root, ord=2)
    d = hs.shape[-1]
    err = d**0.5 * (r[:, None] * rn[None, :] + (rn[:, None] + r[:, None]) * r[None, :])
    return s, err + 4 * d * EPS * s


def gram(hs: torch.Tensor) -> torch.Tensor:
    """The Gram matrix of the family under the trace inner product, G_ij = tr[H_i H_j]."""
    return torch.einsum("iab,jba->ij", hs, hs)


def gram_form(hs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """S as the entry-wise square root of the Gram matrix, and a bound on its round-off error
    (|√a − √b| ≤ √|a − b|, with the trace's error ≤ d²·ε·‖H_i‖_F‖H_j‖_F)."""
    g = gram(hs)
    fro = torch.linalg.matrix_norm(hs, ord="fro")
    d = hs.shape[-1]
    gerr = 2 * d * d * EPS * fro[:, None] * fro[None, :]
    return g.clamp(min=0).sqrt(), gerr.sqrt()


def coherence(hs: torch.Tensor) -> float:
    """σ of Definition 2 from the entry-wise square root of the trace Gram matrix."""
    return coherence_bounds(hs)[0]


def sketched_gram(hvp: Callable[[int, torch.Tensor], torch.Tensor], n: int, d: int, probes: int, gen) -> torch.Tensor:
    """Hutchinson estimate of G_ij = tr[H_iH_j] from Hessian-vector products only (for d too large
    for explicit Hessians): hvp(i, Z) = H_i Z for Z (d, probes) of Rademacher columns; unbiased,
    with standard error O(‖H_i‖_F‖H_j‖_F/√probes)."""
    z = torch.randint(0, 2, (d, probes), generator=gen, dtype=torch.float64) * 2 - 1
    hz = torch.stack([hvp(i, z) for i in range(n)])
    return torch.einsum("iap,jap->ij", hz, hz) / probes


def coherence_bounds(
    hs: torch.Tensor, s_form: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] = gram_form
) -> tuple[float, float, float]:
    """(σ, a bound on its round-off error, λ₁(S)) with S from `s_form` (default: the Gram form). Weyl:
    |λ₁(S̃) − λ₁(S)| ≤ ‖S̃ − S‖_F; λ₁(H_i) is stable to d·ε·‖H_i‖₂."""
    s, err = s_form(hs)
    lam_s = float(torch.linalg.eigvalsh(s)[-1])
    top = float(torch.linalg.eigvalsh(hs)[..., -1].max())
    if top <= 0:
        raise ValueError("the coherence measure is undefined when every H_i is zero")
    top_err = 4 * hs.shape[-1] * EPS * top
    sigma = lam_s / top
    tol = float(torch.linalg.matrix_norm(err)) / (top - top_err) + sigma * top_err / (top - top_err)
    return sigma, tol, lam_s


def compare_coherence(hs: torch.Tensor, lam_s: float, sigma: float) -> dict:
    """Measured λ₁(S) and σ of a family against predicted values, within certified round-off.
    Returns holds, margin (slack in units of the tolerance) and the numbers."""
    sig, sig_tol, lam = coherence_bounds(hs)
    top = float(torch.linalg.eigvalsh(hs)[..., -1].max())
    lam_tol = sig_tol * top + 64 * EPS * max(abs(lam), abs(lam_s))
    sig_tol = sig_tol + 64 * EPS * max(abs(sig), abs(sigma))
    gaps = (abs(lam - lam_s) / lam_tol, abs(sig - sigma) / sig_tol)
    return {
        "holds": max(gaps) <= 1,
        "margin": 1 - max(gaps),
        "values": {
            "lambda1_S": lam,
            "predicted_lambda1_S": lam_s,
            "sigma": sig,
            "predicted_sigma": sigma,
            "tolerance_sigma": sig_tol,
        },
    }
