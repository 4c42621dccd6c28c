"""Deciding whether linearized SGD (dexter2024 Definition 1) diverges or converges, with stated error rates.

Exact rules (error rate zero up to stated round-off):
- second moment, any family: E‖Ĵ_k⋯Ĵ₁‖_F² = tr 𝓛^k(I) with 𝓛(M) = E[ĴMĴ] (the recursion of the
  proof of Lemma 4.1). 𝓛 is a positive map, self-adjoint for ⟨A, B⟩ = tr AB, so tr 𝓛^k(I) → ∞ iff
  ρ(𝓛) > 1 and → 0 iff ρ(𝓛) < 1 (`moment_operator`, `operator_radius`);
- first moment of the spectral norm, diagonal families (in a common eigenbasis): the coordinates of
  Ĵ_k⋯Ĵ₁ are products of k independent copies of ĵ_c, so max_c (E|ĵ_c|)^k ≤ E‖Ĵ_k⋯Ĵ₁‖₂ ≤
  Σ_c (E|ĵ_c|)^k: it diverges iff max_c E|ĵ_c| > 1 and stays ≤ d otherwise. E|ĵ_c| is a finite sum,
  computed in exact rational arithmetic (`coordinate_moments`), for Bernoulli and without-replacement
  sampling alike.

Monte Carlo rules (general families, a user's implementation):
- `first_moment_lower_bound`: a one-sided lower confidence bound on E X for X ≥ 0 from Hoeffding's
  inequality on min(X, cap) (valid for any distribution, error ≤ α): "E‖Ĵ_K⋯Ĵ₁‖₂ ≥ threshold".
- `moment_interval_test`: a one-step identity E[f(Ĵ)] = value, simultaneous empirical Bernstein
  intervals (`flatcheck.stats.intervals.bernstein_interval`) on the range of each entry that
  Definition 1 allows (`jacobian_ranges`): valid for every law at every n, where a normal interval
  undercovers the skewed entries of Ĵ (an entry is often a scaled Bernoulli) at the catalog's α.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from math import comb

import torch

from flatcheck.stats.intervals import bernstein_interval

EPS = torch.finfo(torch.float64).eps
# Batches S enumerated for the exact range of Ĵ's entries; beyond it, interval arithmetic.
SUPPORT_LIMIT = 1 << 12


def pair_probabilities(n: int, batch: int, sampling: str) -> tuple[float, float]:
    """(P(i ∈ S), P(i, j ∈ S) for i ≠ j): Bernoulli (B/n, B²/n²) or a uniform B-subset (B/n, B(B−1)/(n(n−1)))."""
    p1 = batch / n
    if sampling == "bernoulli":
        return p1, p1 * p1
    return p1, (batch * (batch - 1) / (n * (n - 1)) if n > 1 else 0.0)


def moment_operator(hs: torch.Tensor, lr: float, batch: int, sampling: str = "bernoulli") -> torch.Tensor:
    """𝓛(M) = E[ĴMĴ] as a symmetric d²×d² matrix acting on vec(M):
    𝓛 = I − η(I⊗H + H⊗I) + (η/B)²[(p₁ − p₂)Σ_i H_i⊗H_i + p₂ (ΣH_i)⊗(ΣH_i)]
    (E[x_i] = p₁, E[x_ix_j] = p₂ for i ≠ j; for Bernoulli this is the proof of Lemma 4.1)."""
    n, d = hs.shape[0], hs.shape[-1]
    p1, p2 = pair_probabilities(n, batch, sampling)
    total = hs.sum(0)
    mean = total / n
    eye = torch.eye(d, dtype=hs.dtype)
    kron_sum = path_operator(hs)
    big = torch.kron(eye, eye) - lr * (torch.kron(eye, mean) + torch.kron(mean, eye))
    return big + (lr / batch) ** 2 * ((p1 - p2) * kron_sum + p2 * torch.kron(total, total))


def second_moment_matrix(hs: torch.Tensor, lr: float, batch: int, sampling: str = "bernoulli") -> torch.Tensor:
    """E[Ĵ²] = 𝓛(I) = I − 2ηH + (η/B)²[(p₁ − p₂)Σ_iH_i² + p₂(ΣH_i)²]."""
    n, d = hs.shape[0], hs.shape[-1]
    p1, p2 = pair_probabilities(n, batch, sampling)
    total = hs.sum(0)
    eye = torch.eye(d, dtype=hs.dtype)
    return eye - 2 * lr * total / n + (lr / batch) ** 2 * ((p1 - p2) * (hs @ hs).sum(0) + p2 * total @ total)


def definition1_test(jac: torch.Tensor, hs: torch.Tensor, lr: float, batch: int, sampling: str, alpha: float) -> dict:
    """Do draws of Ĵ (from an implementation's steps) follow Definition 1? Tests E[Ĵ] = I − ηH and
    E[Ĵ²] = `second_moment_matrix` entry-wise at error rate α (simultaneous empirical Bernstein
    intervals on the entries' ranges, `jacobian_ranges`), and that every draw lies in those ranges."""
    d = hs.shape[-1]
    expected = torch.cat(
        [torch.eye(d, dtype=hs.dtype) - lr * hs.mean(0), second_moment_matrix(hs, lr, batch, sampling)]
    )
    (jlo, jhi), (qlo, qhi) = jacobian_ranges(hs, lr, batch, sampling)
    lo, hi = torch.cat([jlo, qlo]), torch.cat([jhi, qhi])
    return moment_interval_test(torch.cat([jac, jac @ jac], 1), expected, alpha, lo, hi)


def _batches(n: int, batch: int, sampling: str) -> torch.Tensor | None:
    """Every batch S Definition 1 can draw, as 0/1 rows (m, n), or None when there are more than
    SUPPORT_LIMIT: any subset of [n] (Bernoulli) or any B-subset (without replacement)."""
    if sampling == "bernoulli":
        if 2**n > SUPPORT_LIMIT:
            return None
        return torch.tensor(list(itertools.product((0.0, 1.0), repeat=n)), dtype=torch.float64)
    if comb(n, batch) > SUPPORT_LIMIT:
        return None
    rows = torch.zeros(comb(n, batch), n, dtype=torch.float64)
    for r, s in enumerate(itertools.combinations(range(n), batch)):
        rows[r, list(s)] = 1.0
    return rows


def _product_range(alo: torch.Tensor, ahi: torch.Tensor, blo: torch.Tensor, bhi: torch.Tensor):
    corners = torch.stack([alo * blo, alo * bhi, ahi * blo, ahi * bhi])
    return corners.amin(0), corners.amax(0)


def jacobian_ranges(
    hs: torch.Tensor, lr: float, batch: int, sampling: str
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """((lo, hi) of each entry of Ĵ, (lo, hi) of each entry of Ĵ²) over every Ĵ = I − (η/B)Σ_{i∈S}H_i
    Definition 1 can draw. Exact (every S enumerated) up to SUPPORT_LIMIT batches; else an enclosure:
    Σ_{i∈S}(H_i)_ab lies between the sums of its negative and positive terms (Bernoulli: any S) or of
    its B smallest and B largest terms (a B-subset), and Ĵ² = Σ_c Ĵ_acĴ_cb by interval arithmetic
    (Ĵ_acĴ_ca = Ĵ_ac² ≥ 0 when every H_i is symmetric)."""
    n, d = hs.shape[0], hs.shape[-1]
    eye = torch.eye(d, dtype=hs.dtype)
    rows = _batches(n, batch, sampling)
    if rows is not None:
        jac = eye - (lr / batch) * torch.einsum("mn,nab->mab", rows, hs)
        sq = jac @ jac
        return (jac.amin(0), jac.amax(0)), (sq.amin(0), sq.amax(0))
    if sampling == "bernoulli":
        top, bottom = hs.clamp(min=0).sum(0), hs.clamp(max=0).sum(0)
    else:
        ordered = hs.sort(0).values
        top, bottom = ordered[n - batch :].sum(0), ordered[:batch].sum(0)
    jlo, jhi = eye - (lr / batch) * top, eye - (lr / batch) * bottom
    # Terms indexed (a, c, b): [Ĵ_ac] × [Ĵ_cb].
    plo, phi = _product_range(jlo[:, :, None], jhi[:, :, None], jlo[None], jhi[None])
    if torch.equal(hs, hs.transpose(-1, -2)):
        sq_hi = torch.maximum(jlo**2, jhi**2)
        sq_lo = torch.where((jlo <= 0) & (jhi >= 0), torch.zeros_like(jlo), torch.minimum(jlo**2, jhi**2))
        diag = torch.arange(d)
        plo[diag, :, diag], phi[diag, :, diag] = sq_lo, sq_hi
    return (jlo, jhi), (plo.sum(1), phi.sum(1))


def operator_radius(op: torch.Tensor) -> tuple[float, float]:
    """(ρ(𝓛), a bound on its round-off error): symmetric eigenvalues are stable to ~d²·ε·‖𝓛‖."""
    lam = torch.linalg.eigvalsh((op + op.T) / 2)
    return float(lam.abs().max()), 16 * op.shape[0] * EPS * float(torch.linalg.matrix_norm(op, ord=2))


def frobenius_moments(op: torch.Tensor, steps: int) -> torch.Tensor:
    """E‖Ĵ_k⋯Ĵ₁‖_F² = tr 𝓛^k(I) = vec(I)ᵀ𝓛^k vec(I) for k = 1..steps, exactly (up to round-off)."""
    d = math.isqrt(op.shape[0])
    v = torch.eye(d, dtype=op.dtype).reshape(-1)
    out = []
    for _ in range(steps):
        v = op @ v
        out.append(v.reshape(d, d).trace())
    return torch.stack(out)


@dataclass(frozen=True)
class CoordinateMoments:
    """Exact E|ĵ_c| and E[ĵ_c²] per coordinate, and the a.s. growth rate E log|ĵ_c| (−inf when ĵ_c = 0
    has positive probability)."""

    first: list[Fraction]
    second: list[Fraction]
    log_growth: list[float]


def _coordinate_law(values: list[Fraction], n: int, batch: int, sampling: str) -> list[tuple[Fraction, Fraction]]:
    """Distribution of Σ_{i∈S} h_i over the examples with h_i ≠ 0 (values), as (probability, sum) pairs.
    Examples with equal values are grouped: counts are binomial (Bernoulli) or multivariate
    hypergeometric (a uniform B-subset of [n])."""
    groups: dict[Fraction, int] = {}
    for v in values:
        groups[v] = groups.get(v, 0) + 1
    vals, counts = list(groups), list(groups.values())
    p = Fraction(batch, n)
    rest = n - sum(counts)
    top = max(counts, default=0)
    # Powers once (exact rationals grow fast; recomputing p**k per term dominates the cost).
    pw, qw = [Fraction(1)], [Fraction(1)]
    for _ in range(top):
        pw.append(pw[-1] * p)
        qw.append(qw[-1] * (1 - p))
    law = []
    for ks in itertools.product(*[range(c + 1) for c in counts]):
        if sampling == "bernoulli":
            prob = math.prod(comb(c, k) * pw[k] * qw[c - k] for c, k in zip(counts, ks))
        else:
            chosen = sum(ks)
            if chosen > batch or batch - chosen > rest:
                continue
            ways = math.prod(comb(c, k) for c, k in zip(counts, ks)) * comb(rest, batch - chosen)
            prob = Fraction(ways, comb(n, batch))
        law.append((prob, sum((v * k for v, k in zip(vals, ks)), Fraction(0))))
    return law


def coordinate_moments(
    columns: list[list[Fraction]], n: int, lr: Fraction, batch: int, sampling: str
) -> CoordinateMoments:
    """Exact moments of ĵ_c = 1 − (η/B)Σ_{i∈S} h_ic for a diagonal family given by its columns: the
    non-zero values h_ic of each coordinate c (`columns_of`). Equal columns are computed once."""
    cache: dict[tuple[Fraction, ...], tuple[Fraction, Fraction, float]] = {}
    for col in columns:
        key = tuple(sorted(col))
        if key not in cache:
            law = [(prob, 1 - Fraction(lr) / batch * s) for prob, s in _coordinate_law(list(key), n, batch, sampling)]
            first = sum((prob * abs(j) for prob, j in law), Fraction(0))
            second = sum((prob * j * j for prob, j in law), Fraction(0))
            zero = any(j == 0 and prob > 0 for prob, j in law)
            logs = -math.inf if zero else sum(float(prob) * math.log(abs(j)) for prob, j in law if prob > 0)
            cache[key] = (first, second, logs)
    rows = [cache[tuple(sorted(col))] for col in columns]
    return CoordinateMoments([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


def columns_of(diag: list[list[Fraction]]) -> list[list[Fraction]]:
    """The non-zero entries of each coordinate of a diagonal family (n rows of d fractions)."""
    return [[row[c] for row in diag if row[c] != 0] for c in range(len(diag[0]))]


def first_moment_lower_bound(log_x: torch.Tensor, cap: float, alpha: float) -> float:
    """A lower confidence bound on E X, X = exp(log_x) ≥ 0 (one value per chain), valid with
    probability ≥ 1 − α for any distribution: E X ≥ E min(X, cap) ≥ mean(min(X, cap)) − cap·√(ln(1/α)/(2N))
    (Hoeffding for variables in [0, cap]; cap must not depend on the sample)."""
    y = log_x.clamp(max=math.log(cap)).exp()
    return float(y.mean()) - cap * math.sqrt(math.log(1 / alpha) / (2 * y.numel()))


def moment_interval_test(
    samples: torch.Tensor, expected: torch.Tensor, alpha: float, lo: torch.Tensor, hi: torch.Tensor
) -> dict:
    """Entry-wise test of E[samples] = expected for samples (N, ...) whose entries lie in the known
    ranges [lo, hi] (shaped like expected): simultaneous empirical Bernstein intervals at level α plus
    a round-off floor, and every draw inside its range (up to the floor; outside it the draw cannot
    come from the law tested, so it rejects with error rate zero). Returns holds, margin and the numbers."""
    flat = samples.reshape(samples.shape[0], -1)
    floor = 1e3 * EPS * (1 + flat.abs().max())
    low, high = lo.reshape(-1), hi.reshape(-1)
    est, half = bernstein_interval(flat, low, high, alpha)
    exp = expected.reshape(-1)
    tol = half + floor
    err = (est - exp).abs()
    # A draw's room inside its range, in units of the floor (< 0: outside).
    room = (torch.minimum(flat - low, high - flat) + floor) / floor
    outside = int((room < 0).any(1).sum())
    return {
        "holds": bool((err <= tol).all()) and outside == 0,
        "margin": min(float(((tol - err) / tol).min()), float(room.min())),
        "max_error": float(err.max()),
        "max_halfwidth": float(half.max()),
        "draws_out_of_range": outside,
        "estimate": est.reshape(expected.shape).tolist(),
        "expected": expected.tolist(),
    }


def path_operator(hs: torch.Tensor) -> torch.Tensor:
    """𝓣(M) = Σ_i H_iMH_i as a symmetric PSD d²×d² matrix: Σ_{y₁..y_k}‖H_{y_k}⋯H_{y₁}‖_F² = tr𝓣^k(I),
    so c^kΣ_y‖H_{y_k}⋯H_{y₁}‖_F² → ∞ iff c·ρ(𝓣) > 1 and → 0 iff c·ρ(𝓣) < 1 (Lemma 4.1's sums)."""
    d = hs.shape[-1]
    return torch.einsum("iab,icd->acbd", hs, hs).reshape(d * d, d * d)
