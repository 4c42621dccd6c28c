"""Families of per-example Hessians {H_i}_{i∈[n]} for dexter2024 (linearized SGD, Definition 1).

A family is the problem of linearized SGD: the per-example losses are ℓ_i(w) = ½wᵀH_iw, so
∇ℓ_i = H_iw and the SGD step is w ← (I − (η/B)Σ_{i∈S}H_i)w (Definition 1, §2). Diagonal
constructions carry their entries as exact fractions, so moments of the dynamics are exact there.

Families: the two extreme settings of §3.1, the construction in the proof of Theorem 2, the §5.1
construction (m = 2n/σ, dimension n − σ + 1), random diagonal families with rational entries, random
PSD families with controlled coherence (H_i = G_iG_iᵀ, G_i = √t·G + √(1−t)·G_i′: t = 0 independent,
t = 1 identical), and rank-one per-example Hessians of a small tanh network fitted, with
label-smoothed binary cross-entropy, to scikit-learn's bundled digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import torch
from hypothesis import strategies as st

from flatcheck.problems.digits_mlp import load_digits_data


@dataclass(eq=False)
class HessianFamily:
    """{H_i}: hs (n, d, d) float64; `diag` the exact diagonal entries (n rows of d fractions) when
    every H_i is diagonal; `ranks` the ranks the construction guarantees."""

    name: str
    hs: torch.Tensor
    params: dict[str, Any] = field(default_factory=dict)
    diag: list[list[Fraction]] | None = None
    ranks: tuple[int, ...] = ()

    @property
    def n(self) -> int:
        return self.hs.shape[0]

    @property
    def d(self) -> int:
        return self.hs.shape[1]

    @property
    def mean(self) -> torch.Tensor:
        """H = (1/n)Σ H_i."""
        return self.hs.mean(0)

    def lambda1(self) -> float:
        """λ₁(H)."""
        return float(torch.linalg.eigvalsh(self.mean)[-1])

    def describe(self) -> dict[str, Any]:
        return {"family": self.name, "n": self.n, "d": self.d, **self.params}

    def loss(self, w: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """Σ_{i∈index} ℓ_i(w) with ℓ_i(w) = ½ tr(wᵀH_iw) for w (d,) or (d, k); index None: L = (1/n)Σℓ_i."""
        w2 = w.reshape(self.d, -1)
        hs = self.hs if index is None else self.hs[index]
        total = 0.5 * torch.einsum("ak,iab,bk->", w2, hs, w2)
        return total / self.n if index is None else total


def diagonal_family(name: str, diag: list[list[Fraction]], params: dict[str, Any] | None = None) -> HessianFamily:
    hs = torch.diag_embed(torch.tensor([[float(v) for v in row] for row in diag], dtype=torch.float64))
    ranks = tuple(sum(1 for v in row if v != 0) for row in diag)
    return HessianFamily(name, hs, params or {}, diag=diag, ranks=ranks)


def identical(n: int, d: int = 2) -> HessianFamily:
    """§3.1, first setting: H_i = e₁e₁ᵀ for every i."""
    return diagonal_family("identical", [[Fraction(int(c == 0)) for c in range(d)] for _ in range(n)])


def orthogonal(n: int) -> HessianFamily:
    """§3.1, second setting: H_i = e_ie_iᵀ (tr[H_iH_j] = 0 for i ≠ j), d = n."""
    return diagonal_family("orthogonal", [[Fraction(int(c == i)) for c in range(n)] for i in range(n)])


def rotated(fam: HessianFamily, seed: int) -> HessianFamily:
    """QH_iQᵀ for a random orthogonal Q: same Gram matrix and spectra, no longer diagonal."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(fam.d, fam.d, generator=gen, dtype=torch.float64))
    return HessianFamily(
        f"rotated {fam.name}", q @ fam.hs @ q.T, {**fam.params, "rotation_seed": seed}, None, fam.ranks
    )


def theorem2_construction(n: int, sigma: int, lam1: Fraction) -> HessianFamily:
    """Proof of Theorem 2: H_i = m e₁e₁ᵀ for i ∈ [σ], H_i = 0 otherwise, m = λ₁n/σ (d = n)."""
    m = Fraction(lam1) * n / sigma
    diag = [[m if (c == 0 and i < sigma) else Fraction(0) for c in range(n)] for i in range(n)]
    return diagonal_family("theorem2", diag, {"sigma": sigma, "lambda1": str(lam1)})


def section5_construction(n: int, sigma: int) -> HessianFamily:
    """§5.1: H_i = m e₁e₁ᵀ for i ∈ [σ], H_i = m e_{i−σ+1}e_{i−σ+1}ᵀ otherwise, m = 2n/σ, dimension
    n − σ + 1 (so λ₁(H) = 2)."""
    m = Fraction(2 * n, sigma)
    d = n - sigma + 1
    diag = [[m if c == max(i - sigma + 1, 0) else Fraction(0) for c in range(d)] for i in range(n)]
    return diagonal_family("section5", diag, {"sigma": sigma})


def random_psd(n: int, d: int, rank: int, t: float, seed: int) -> HessianFamily:
    """H_i = G_iG_iᵀ with G_i = √t·G + √(1−t)·G_i′ (d × rank Gaussians): t tunes the coherence from
    that of independent matrices (t = 0) to identical ones (t = 1)."""
    gen = torch.Generator().manual_seed(seed)
    shared = torch.randn(d, rank, generator=gen, dtype=torch.float64)
    own = torch.randn(n, d, rank, generator=gen, dtype=torch.float64)
    g = t**0.5 * shared + (1 - t) ** 0.5 * own
    hs = g @ g.transpose(-1, -2)
    return HessianFamily("random_psd", hs, {"rank": rank, "t": t, "seed": seed}, ranks=(rank,) * n)


@lru_cache(maxsize=8)
def _digits_features(n: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n training digits of classes 0 and 1 (sklearn's bundled data, shared loader), projected
    on their top-k principal directions; labels in {0, 1}."""
    data = load_digits_data()
    keep = data.y_train <= 1
    x = data.x_train[keep][:n]
    x = x - x.mean(0)
    _, _, vt = torch.linalg.svd(x, full_matrices=False)
    return x @ vt[:k].T, data.y_train[keep][:n].to(torch.float64)


@lru_cache(maxsize=32)
def label_smoothing_net(n: int, smoothing: float, seed: int, k: int = 4) -> HessianFamily:
    """Per-example Hessians at a minimum of a tanh network f(x) = aᵀtanh(Wx + b) + c (hidden width n)
    under binary cross-entropy with label smoothing (targets y(1−s) + (1−y)s).

    The last layer is solved so that f(x_i) = logit of the smoothed target for every i: there each
    ℓ_i has zero gradient, so w* minimizes every ℓ_i (§2's assumption) and ∇²ℓ_i = p(1−p)∇f∇fᵀ is
    rank one (§3.1: the cross-entropy case). Hessians are exact (autograd; d = kn + 2n + 1 with
    k = min(4, n) input features). Cached: families are read-only.
    """
    x, y = _digits_features(n, k)
    k = x.shape[1]  # at most n principal directions exist
    gen = torch.Generator().manual_seed(seed)
    w1 = torch.randn(n, k, generator=gen, dtype=torch.float64) * 2
    b1 = torch.randn(n, generator=gen, dtype=torch.float64)
    feats = torch.cat([torch.tanh(x @ w1.T + b1), torch.ones(n, 1, dtype=torch.float64)], 1)
    target = y * (1 - smoothing) + (1 - y) * smoothing
    z = torch.log(target / (1 - target))
    last = torch.linalg.lstsq(feats, z.unsqueeze(1), driver="gelsd").solution.squeeze(1)
    w = torch.cat([w1.reshape(-1), b1, last])

    def loss(v: torch.Tensor, i: int) -> torch.Tensor:
        hw = v[: n * k].reshape(n, k)
        hb = v[n * k : n * k + n]
        a, c = v[n * k + n : n * k + 2 * n], v[-1]
        f = a @ torch.tanh(hw @ x[i] + hb) + c
        return torch.nn.functional.binary_cross_entropy_with_logits(f, target[i])

    # torch.autograd.functional: exact like torch.func.hessian, without its multi-second first-call cost.
    hs = torch.stack([torch.autograd.functional.hessian(lambda v, i=i: loss(v, i), w) for i in range(n)])
    hs = (hs + hs.transpose(-1, -2)) / 2
    return HessianFamily("label_smoothing_net", hs, {"smoothing": smoothing, "seed": seed}, ranks=(1,) * n)


# ---- hypothesis strategies ------------------------------------------------------------------------


def fractions(lo: int = 0, hi: int = 8, den: int = 4) -> st.SearchStrategy[Fraction]:
    """Rationals k/q in [lo, hi] with q ≤ den."""
    return st.builds(lambda q, k: Fraction(k, q), st.integers(1, den), st.integers(lo * den, hi * den)).filter(
        lambda f: lo <= f <= hi
    )


@st.composite
def random_diagonal(draw, max_n: int = 6, max_d: int = 3) -> HessianFamily:
    """Diagonal families with exact rational entries in [0, 8] (d = 1 included: scalar H_i)."""
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    diag = [[draw(fractions()) for _ in range(d)] for _ in range(n)]
    if all(v == 0 for row in diag for v in row):
        diag[0][0] = Fraction(1)
    return diagonal_family("random_diagonal", diag)


@st.composite
def scalar_families(draw, max_n: int = 8) -> HessianFamily:
    """d = 1: n positive rational curvatures h_i ∈ [1/4, 4] (the simplest non-trivial families)."""
    n = draw(st.integers(2, max_n))
    return diagonal_family("scalar", [[draw(fractions(0, 4).filter(lambda f: f > 0))] for _ in range(n)])


def spike_family(n: int, b: Fraction) -> HessianFamily:
    """d = 1: one example of curvature 1 and n − 1 of curvature b — between the Theorem 2
    construction (b = 0) and the identical setting (b = 1)."""
    return diagonal_family("spike", [[Fraction(1)]] + [[Fraction(b)]] * (n - 1), {"b": str(b)})


def spike_families(max_n: int = 8) -> st.SearchStrategy[HessianFamily]:
    """Spike families with n ≥ 3 (n = 2 is an ordinary scalar family)."""
    fracs = [Fraction(1, 4), Fraction(1, 8), Fraction(1, 2), Fraction(1, 16)]
    return st.builds(spike_family, st.integers(3, max(max_n, 3)), st.sampled_from(fracs))


def diagonal_families(max_n: int = 6, max_d: int = 3) -> st.SearchStrategy[HessianFamily]:
    """Every diagonal family: spike and scalar families (d = 1), random diagonal ones, the §3.1
    settings and the §5.1 construction."""
    return st.one_of(
        spike_families(max_n),
        scalar_families(max_n),
        random_diagonal(max_n, max_d),
        st.builds(identical, st.integers(1, 8), st.integers(1, 3)),
        st.builds(orthogonal, st.integers(1, 8)),
        st.integers(1, 12).flatmap(lambda n: st.builds(section5_construction, st.just(n), st.integers(1, n))),
    )


def psd_families(max_n: int = 6, max_d: int = 4) -> st.SearchStrategy[HessianFamily]:
    """Non-diagonal PSD families: random with controlled coherence, rotated diagonal ones."""
    return st.one_of(
        st.builds(
            random_psd,
            st.integers(1, max_n),
            st.integers(1, max_d),
            st.integers(1, 2),
            st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]),
            st.integers(0, 2**16),
        ),
        st.builds(rotated, random_diagonal(max_n, max_d), st.integers(0, 2**16)),
    )


def hessian_families(max_n: int = 6, max_d: int = 4, model: bool = True) -> st.SearchStrategy[HessianFamily]:
    """Any family: diagonal, non-diagonal PSD, and (model=True) the label-smoothing network's."""
    parts = [diagonal_families(max_n, min(max_d, 3)), psd_families(max_n, max_d)]
    if model:
        parts.append(
            st.builds(label_smoothing_net, st.integers(2, 6), st.sampled_from([0.05, 0.1, 0.2]), st.integers(0, 99))
        )
    return st.one_of(*parts)


@dataclass(eq=False)
class LinearSGDInstance:
    """A family with a learning rate η (exact rational) and a batch size B ∈ [n] for Definition 1."""

    fam: HessianFamily
    lr: Fraction
    batch: int

    def hp(self, sampling: str = "bernoulli") -> dict[str, Any]:
        """Hyper-parameters by flatcheck name (flatcheck.impl.jacobians)."""
        return {"lr": float(self.lr), "batch_size": self.batch, "n_examples": self.fam.n, "sampling": sampling}

    def describe(self) -> dict[str, Any]:
        out = {**self.fam.describe(), "eta": str(self.lr), "B": self.batch}
        if self.fam.diag is not None and self.fam.n * self.fam.d <= 24:
            out["diag"] = [[str(v) for v in row] for row in self.fam.diag]
        return out


def rational_at_least(x: float, den: int = 1 << 20) -> Fraction:
    """The smallest multiple of 1/den that is ≥ x (exact learning rates for exact moments)."""
    return Fraction(math.ceil(x * den), den)


@dataclass(frozen=True)
class ExtremeSetting:
    """One of §3.1's two settings for every n ≤ max_n: "identical" (H_i = e₁e₁ᵀ in R^d) or
    "orthogonal" (H_i = e_ie_iᵀ, rotated by a random Q when rotation is set)."""

    kind: str
    max_n: int
    d: int = 1
    rotation: int | None = None

    def families(self) -> list[HessianFamily]:
        if self.kind == "identical":
            return [identical(n, self.d) for n in range(1, self.max_n + 1)]
        fams = [orthogonal(n) for n in range(1, self.max_n + 1)]
        return fams if self.rotation is None else [rotated(f, self.rotation) for f in fams]

    def describe(self) -> dict[str, Any]:
        return {"setting": self.kind, "max_n": self.max_n, "d": self.d, "rotation": self.rotation}


def extreme_settings(max_n: int = 40) -> st.SearchStrategy[ExtremeSetting]:
    """§3.1's two settings, each checked for every n up to a drawn max_n. max_n starts at 2: a
    setting is checked for every n ≤ max_n, so max_n = 1 would only repeat part of any larger draw
    (and hypothesis draws its smallest values first: with max_n = 1 allowed, quick's few instances
    missed the identical setting's n ≥ 2 on 11 of 50 seeds)."""
    return st.one_of(
        st.builds(ExtremeSetting, st.just("identical"), st.integers(2, max_n), st.integers(1, 3)),
        st.builds(
            ExtremeSetting, st.just("orthogonal"), st.integers(2, 12), st.just(1), st.none() | st.integers(0, 2**16)
        ),
    )


@dataclass(eq=False)
class FamilySweep:
    """Several families checked together: random PSD families of one shape across the coherence knob
    t ∈ {0, ¼, ½, ¾, 1} (so both ends of the coherence range are always covered), or a single family."""

    families: list[HessianFamily]
    label: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        return self.label


def coherence_sweep(n: int, d: int, rank: int, seed: int) -> FamilySweep:
    fams = [random_psd(n, d, rank, t, seed) for t in (0.0, 0.25, 0.5, 0.75, 1.0)]
    return FamilySweep(fams, {"family": "random_psd sweep over t", "n": n, "d": d, "rank": rank, "seed": seed})


def family_sweeps(max_n: int = 6, max_d: int = 4) -> st.SearchStrategy[FamilySweep]:
    """Coherence sweeps of random PSD families of rank 2 to d (rank one is covered by the §3.1, §5.1
    and network families) and single families of every kind."""
    sweep = st.integers(2, max_d).flatmap(
        lambda d: st.builds(
            coherence_sweep, st.integers(1, max_n), st.just(d), st.integers(2, d), st.integers(0, 2**16)
        )
    )
    return st.one_of(sweep, hessian_families(max_n, max_d).map(lambda f: FamilySweep([f], f.describe())))


@st.composite
def sgd_instances(
    draw, families: st.SearchStrategy[HessianFamily], scale: st.SearchStrategy[float] | None = None
) -> LinearSGDInstance:
    """A family, a batch size B ∈ [n] and η = c·B/max_i λ₁(H_i) (rational), c drawn from `scale`
    (default: between 0.05 and 4, so single-example steps range from tiny to overshooting)."""
    fam = draw(families)
    batch = draw(st.integers(1, fam.n))
    c = draw(scale if scale is not None else st.sampled_from([0.05, 0.3, 0.9, 1.5, 2.5, 4.0]))
    top = float(torch.linalg.eigvalsh(fam.hs)[..., -1].max())
    return LinearSGDInstance(fam, rational_at_least(c * batch / max(top, 1e-12)), batch)


@dataclass(eq=False)
class Theorem2Instance:
    """(λ₁, n, B, η, σ) of dexter2024 Theorem 2: λ₁ = r·(two·σ/η)(σ + n/B − 1)^exponent, r ∈ (0, 1)
    admissible; the statement's constants two = 2 and exponent = −1 are passed in by the claim."""

    n: int
    sigma: int
    batch: int
    lr: Fraction
    ratio: Fraction
    two: Fraction = Fraction(2)
    exponent: Fraction = Fraction(-1)

    @property
    def bound(self) -> Fraction:
        base = self.sigma + Fraction(self.n, self.batch) - 1
        if self.exponent.denominator == 1:
            power = base ** int(self.exponent)
        else:  # an irrational power: its nearest rational with denominator ≤ 2²⁰
            power = Fraction(float(base) ** float(self.exponent)).limit_denominator(1 << 20)
        return self.two * self.sigma / self.lr * power

    @property
    def lam1(self) -> Fraction:
        return self.ratio * self.bound

    def describe(self) -> dict[str, Any]:
        return {"n": self.n, "sigma": self.sigma, "B": self.batch, "eta": str(self.lr), "ratio": str(self.ratio)}


def theorem2_instances(
    max_n: int = 12, two: Fraction = Fraction(2), exponent: Fraction = Fraction(-1)
) -> st.SearchStrategy[Theorem2Instance]:
    """n ≤ max_n, σ ∈ [n], B ∈ [n], η ∈ (0, 4] rational, λ₁ from 1/10 of the bound (its constants
    `two`, `exponent`) to just below it."""
    ratios = [Fraction(999, 1000), Fraction(99, 100), Fraction(1, 2), Fraction(1, 10)]
    return st.integers(1, max_n).flatmap(
        lambda n: st.builds(
            Theorem2Instance,
            st.just(n),
            st.integers(1, n),
            st.integers(1, n),
            fractions(0, 4, 8).filter(lambda f: f > 0),
            st.sampled_from(ratios),
            st.just(two),
            st.just(exponent),
        )
    )
