r"""Setting-1 training losses of ahn2024 §4 (after wen2023): f = (1/n) Σ_i f_i, f_i = ℓ(p_i(x), y_i).

ℓ(z, y) = (z − y)² throughout (argmin_z ℓ = y, ℓ'' = 2 > 0), so Example 1 is the one-datum case of
the diagonal network below. Labels are produced by a teacher, so X* = {p_i(x) = y_i ∀i} is
non-empty and a point of it is known (`known["x_star"]`).

- `diagonal_network`: overparameterized linear regression w = u ⊙ v, p_i(u, v) = Σ_{j∈S_i} u_j v_j
  over disjoint groups S_i (the ∇p_i are orthogonal: the simplifying assumption of the sketch of
  Lemma 4). Per group, s = u+v and δ = u−v evolve under gradient flow as s·e^{−L}, δ·e^{L}, which
  gives Φ in closed form (`known["phi"]`); tr̄ = 2‖x‖²/(nd) exactly; the flat minima are
  u_S = v_S, ‖u_S‖² = y_i.
- `linear_regression`: p_i = a_iᵀx with n < d; Φ is the projection onto {Ax = y} (the flow stays in
  x + row(A)); tr̄ is constant.
- `matrix_sensing`: p_i(U) = ⟨A_i, UUᵀ⟩, U ∈ R^{m×r}, symmetric A_i, labels from U*.
- `two_layer_tanh`: p_i(W, a) = Σ_k a_k tanh(w_kᵀz_i), labels from a teacher network.
"""

from __future__ import annotations

import math

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.problems.instances import PointInstance
from flatcheck.problems.problem import Problem


def _loss_problem(family, xs, preds, labels, params, beta_on_ball=None, known=None, polynomial=True) -> Problem:
    examples = tuple((p - y) ** 2 for p, y in zip(preds, labels))
    n = len(examples)
    return Problem(
        family=family,
        symbols=tuple(xs),
        expr=sp.Add(*examples) / n,
        params=params,
        beta_on_ball=beta_on_ball,
        is_polynomial=polynomial,
        known={"predictions": list(preds), "labels": list(labels), "loss_second_derivative": 2, **(known or {})},
        examples=examples,
    )


def _radius(center: torch.Tensor, radius: float) -> float:
    return float(torch.linalg.vector_norm(center.double().cpu())) + radius


# ---- diagonal network (overparameterized linear regression, w = u ⊙ v) ------------------------------
def diagonal_phi_expr(xs: tuple[sp.Symbol, ...], groups: list[int], labels: list[sp.Expr]) -> sp.Matrix:
    """Φ in closed form for the diagonal network, valid where Σ_{j∈S_i}(u_j + v_j)² > 0 for every i.

    Per group: z = e^{2L} solves ‖δ‖²z² + 4yz − ‖s‖² = 0, written as z = ‖s‖²/(2y + √(4y² + ‖δ‖²‖s‖²))
    (no division by ‖δ‖); then u = (s/√z + δ√z)/2, v = (s/√z − δ√z)/2."""
    k = sum(groups)
    u, v = xs[:k], xs[k:]
    out_u, out_v, j = [], [], 0
    for size, y in zip(groups, labels):
        s = [u[j + a] + v[j + a] for a in range(size)]
        dl = [u[j + a] - v[j + a] for a in range(size)]
        s2, d2 = sum(c * c for c in s), sum(c * c for c in dl)
        z = s2 / (2 * y + sp.sqrt(4 * y * y + d2 * s2))
        out_u += [(si / sp.sqrt(z) + di * sp.sqrt(z)) / 2 for si, di in zip(s, dl)]
        out_v += [(si / sp.sqrt(z) - di * sp.sqrt(z)) / 2 for si, di in zip(s, dl)]
        j += size
    return sp.Matrix(out_u + out_v)


def diagonal_phi(groups: list[int], labels: list[sp.Expr]):
    """The same closed form as `diagonal_phi_expr`, batched in torch: (..., d) -> (..., d)."""
    k = sum(groups)
    bounds = [sum(groups[:i]) for i in range(len(groups) + 1)]
    ys = [float(y) for y in labels]

    def phi(x: torch.Tensor) -> torch.Tensor:
        u, v = x[..., :k], x[..., k:]
        s, dl = u + v, u - v
        outs_u, outs_v = [], []
        for (a, b), y in zip(zip(bounds, bounds[1:]), ys):
            sg, dg = s[..., a:b], dl[..., a:b]
            s2, d2 = (sg * sg).sum(-1, keepdim=True), (dg * dg).sum(-1, keepdim=True)
            rz = torch.sqrt(s2 / (2 * y + torch.sqrt(4 * y * y + d2 * s2)))
            outs_u.append((sg / rz + dg * rz) / 2)
            outs_v.append((sg / rz - dg * rz) / 2)
        return torch.cat(outs_u + outs_v, dim=-1)

    return phi


def diagonal_network(groups: list[int], labels: list[sp.Rational]) -> Problem:
    """f(u, v) = (1/n) Σ_i (Σ_{j∈S_i} u_j v_j − y_i)² with consecutive groups S_i of the given sizes."""
    if any(sp.Rational(y) <= 0 for y in labels) or len(groups) != len(labels) or min(groups) < 1:
        raise ValueError("diagonal_network needs positive labels and one group size ≥ 1 per label")
    k = sum(groups)
    xs = sp.symbols(f"x1:{2 * k + 1}", real=True)
    u, v = xs[:k], xs[k:]
    preds, j = [], 0
    for size in groups:
        preds.append(sum(u[j + a] * v[j + a] for a in range(size)))
        j += size
    labels = [sp.Rational(y) for y in labels]
    n, d = len(groups), 2 * k
    # A point of X*: u_S = v_S = √(y_i/|S_i|)·1 — also a flat minimum (u_S = v_S, ‖u_S‖² = y_i).
    flat = []
    for size, y in zip(groups, labels):
        flat += [sp.sqrt(y / size)] * size
    y_max = max(float(y) for y in labels)

    def beta_on_ball(center: torch.Tensor, radius: float) -> float:
        # ∇²f is block diagonal over groups; a block is (2/n)(∇p∇pᵀ + r∇²p) with ‖∇p‖² ≤ R²,
        # ‖∇²p‖ = 1 and |r| ≤ R²/2 + y.
        r = _radius(center, radius)
        return 2 / n * (1.5 * r * r + y_max)

    return _loss_problem(
        "diagonal_network",
        xs,
        preds,
        labels,
        {"groups": list(groups), "labels": [str(y) for y in labels]},
        beta_on_ball,
        {
            "phi": diagonal_phi(groups, labels),
            "x_star": flat + flat,
            "flat_trace_bar": 4 * sum(labels) / (n * d),
            "trace_bar": lambda x: 2 * (x * x).sum(-1) / (n * d),
        },
    )


def quartic_loss(r):
    """ℓ(z, y) = r² − r³/3 + r⁴/4 with r = z − y: a Setting-1 loss (r²(1 − r/3 + r²/4) > 0 for r ≠ 0, so
    argmin_z ℓ = y; ℓ''(0) = 2 > 0) whose third derivative at the label, ℓ'''(0) = −2, is not zero."""
    return r**2 - r**3 / 3 + r**4 / 4


def diagonal_network_quartic_loss(groups: list[int], labels: list[sp.Rational]) -> Problem:
    """The diagonal network of `diagonal_network` under `quartic_loss` instead of the square loss.

    Its gradient flow −ℓ′(p_i − y_i)∇p_i per group is the square loss's, −2(p_i − y_i)∇p_i, slowed by
    ℓ′(r)/(2r) = 1 − r/2 + r²/2 > 0: the same curves, hence the same Φ (closed form) and X*. tr ∇²p_i = 0
    and ‖∇p_i‖² = ‖x_{S_i}‖², so tr̄(x) = Σ_i ℓ''(p_i − y_i)‖x_{S_i}‖²/(nd) exactly, ℓ''(r) = 2 − 2r + 3r²."""
    square = diagonal_network(groups, labels)
    preds, ys = square.known["predictions"], square.known["labels"]
    examples = tuple(quartic_loss(p - y) for p, y in zip(preds, ys))
    n, d = len(groups), square.d
    k = d // 2
    bounds = [sum(groups[:i]) for i in range(len(groups) + 1)]
    y_t = [float(y) for y in ys]
    y_max = max(y_t)

    def trace_bar(x: torch.Tensor) -> torch.Tensor:
        u, v = x[..., :k], x[..., k:]
        total = torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)
        for (a, b), y in zip(zip(bounds, bounds[1:]), y_t):
            r = (u[..., a:b] * v[..., a:b]).sum(-1) - y
            total = total + (2 - 2 * r + 3 * r * r) * ((u[..., a:b] ** 2).sum(-1) + (v[..., a:b] ** 2).sum(-1))
        return total / (n * d)

    def beta_on_ball(center: torch.Tensor, radius: float) -> float:
        # A block of ∇²f is (1/n)(ℓ''(r)∇p∇pᵀ + ℓ′(r)∇²p) with ‖∇p‖² ≤ R², ‖∇²p‖ = 1, |r| ≤ R²/2 + y,
        # |ℓ''(r)| ≤ 2 + 2|r| + 3r² and |ℓ′(r)| ≤ 2|r| + r² + |r|³.
        rr = _radius(center, radius)
        r = rr * rr / 2 + y_max
        return ((2 + 2 * r + 3 * r * r) * rr * rr + 2 * r + r * r + r**3) / n

    return Problem(
        family="diagonal_network_quartic_loss",
        symbols=square.symbols,
        expr=sp.Add(*examples) / n,
        params=square.params,
        beta_on_ball=beta_on_ball,
        known={**square.known, "trace_bar": trace_bar},
        examples=examples,
    )


@st.composite
def diagonal_networks(
    draw, n: st.SearchStrategy[int] = st.integers(1, 3), group: st.SearchStrategy[int] = st.integers(1, 3)
):
    """Hypothesis strategy for diagonal networks (Example 1 is n = 1, |S_1| = 1, y = 1)."""
    m = draw(n)
    groups = [draw(group) for _ in range(m)]
    labels = [draw(st.sampled_from([sp.Rational(1, 2), sp.Integer(1), sp.Integer(2)])) for _ in range(m)]
    return diagonal_network(groups, labels)


# ---- linear regression ----------------------------------------------------------------------------
def linear_regression(a: list[list[sp.Rational]], x_teacher: list[sp.Rational]) -> Problem:
    """f(x) = (1/n) Σ_i (a_iᵀx − y_i)², y = A x_teacher, n < d (overparameterized)."""
    am = sp.Matrix(a)
    n, d = am.shape
    xs = sp.symbols(f"x1:{d + 1}", real=True)
    preds = list(am * sp.Matrix(xs))
    labels = list(am * sp.Matrix(x_teacher))
    at = torch.tensor([[float(c) for c in row] for row in a], dtype=torch.float64)
    beta = 2 / n * float(torch.linalg.matrix_norm(at, ord=2)) ** 2
    pinv = torch.linalg.pinv(at)
    yt = torch.tensor([float(c) for c in labels], dtype=torch.float64)

    def phi(x: torch.Tensor) -> torch.Tensor:
        # The flow moves along row(A) only and stops on {Ax = y}: the orthogonal projection.
        return x - (x @ at.T.to(x) - yt.to(x)) @ pinv.T.to(x)

    return _loss_problem(
        "linear_regression",
        xs,
        preds,
        labels,
        {"A": [[str(c) for c in row] for row in a], "x_teacher": [str(c) for c in x_teacher]},
        lambda center, radius: beta,
        {"phi": phi, "x_star": list(x_teacher)},
    )


_entry = st.builds(lambda p, q: sp.Rational(p, q), st.integers(-3, 3), st.sampled_from([1, 2]))


@st.composite
def linear_regressions(draw, d: st.SearchStrategy[int] = st.integers(2, 5)):
    m = draw(d)
    n = draw(st.integers(1, m - 1))
    a = [draw(st.lists(_entry, min_size=m, max_size=m).filter(any)) for _ in range(n)]
    if sp.Matrix(a).rank() < n:
        a = [[sp.Integer(int(i == j)) for j in range(m)] for i in range(n)]
    return linear_regression(a, draw(st.lists(_entry, min_size=m, max_size=m)))


# ---- matrix sensing -------------------------------------------------------------------------------
def matrix_sensing(sensors: list[list[list[sp.Rational]]], u_star: list[list[sp.Rational]]) -> Problem:
    """f(U) = (1/n) Σ_i (⟨A_i, UUᵀ⟩ − ⟨A_i, U*U*ᵀ⟩)², A_i symmetrized, x = vec(U) row-major."""
    m, r = len(u_star), len(u_star[0])
    xs = sp.symbols(f"x1:{m * r + 1}", real=True)
    um = sp.Matrix(m, r, xs)
    ustar = sp.Matrix(u_star)
    mats = [(sp.Matrix(s) + sp.Matrix(s).T) / 2 for s in sensors]
    preds = [sp.Add(*a.multiply_elementwise(um * um.T)) for a in mats]
    labels = [sp.Add(*a.multiply_elementwise(ustar * ustar.T)) for a in mats]
    norms = [float(sp.Matrix(a).norm()) for a in mats]  # Frobenius ≥ spectral
    n = len(mats)
    y_max = max(abs(float(y)) for y in labels)

    def beta_on_ball(center: torch.Tensor, radius: float) -> float:
        # ∇²f_i = 2∇p∇pᵀ + 2r∇²p with ‖∇p‖ ≤ 2‖A‖R, ‖∇²p‖ ≤ 2‖A‖, |r| ≤ ‖A‖R² + |y|.
        rr = _radius(center, radius)
        return max(8 * a * a * rr * rr + 4 * a * (a * rr * rr + y_max) for a in norms) if n else 0.0

    return _loss_problem(
        "matrix_sensing",
        xs,
        preds,
        labels,
        {"m": m, "r": r, "sensors": [[[str(c) for c in row] for row in s] for s in sensors], "u_star": str(u_star)},
        beta_on_ball,
        {"x_star": [c for row in u_star for c in row]},
    )


@st.composite
def matrix_sensings(draw, m: st.SearchStrategy[int] = st.integers(2, 3), r: st.SearchStrategy[int] = st.integers(1, 2)):
    mm, rr = draw(m), draw(r)
    n = draw(st.integers(1, 3))
    # Small entries keep ∇²f well conditioned near X*, so gradient flow (Φ) converges quickly.
    small = st.sampled_from([sp.Rational(c, 2) for c in (-2, -1, 0, 1, 2)])
    sq = st.lists(st.lists(small, min_size=mm, max_size=mm), min_size=mm, max_size=mm)
    sensors = [draw(sq.filter(lambda s: any(c != 0 for row in s for c in row))) for _ in range(n)]
    u_star = draw(st.lists(st.lists(small, min_size=rr, max_size=rr), min_size=mm, max_size=mm))
    return matrix_sensing(sensors, u_star)


# ---- two-layer network with a smooth activation -------------------------------------------------------
def two_layer_tanh(inputs: list[list[sp.Rational]], teacher_w: list[list[sp.Rational]], teacher_a: list[sp.Rational]):
    """p_i(W, a) = Σ_k a_k tanh(w_kᵀz_i), x = (vec(W) row-major, a); labels from the teacher."""
    h, m = len(teacher_w), len(inputs[0])
    xs = sp.symbols(f"x1:{h * m + h + 1}", real=True)
    w = [xs[k * m : (k + 1) * m] for k in range(h)]
    a = xs[h * m :]

    def net(ws, as_, z):
        return sum(ak * sp.tanh(sum(wi * zi for wi, zi in zip(wk, z))) for wk, ak in zip(ws, as_))

    preds = [net(w, a, z) for z in inputs]
    # Labels as 50-digit floats: torch cannot evaluate tanh of a constant inside compiled code.
    labels = [sp.N(net(teacher_w, teacher_a, z), 50) for z in inputs]
    z_norm = max(math.sqrt(sum(float(c) ** 2 for c in z)) for z in inputs)

    def beta_on_ball(center: torch.Tensor, radius: float) -> float:
        # ‖∇p‖ ≤ √h(1 + R‖z‖), ‖∇²p‖ ≤ 2‖z‖ + R‖z‖² (|tanh'| ≤ 1, |tanh''| ≤ 0.77 < 1) and
        # |r| ≤ √h R + |y| ≤ √h R + Σ|a*|: ‖∇²f_i‖ ≤ 2‖∇p‖² + 2|r|‖∇²p‖.
        rr = _radius(center, radius)
        grad_p = math.sqrt(h) * (1 + rr * z_norm)
        hess_p = 2 * z_norm + rr * z_norm**2
        y_bound = sum(abs(float(c)) for c in teacher_a)
        return 2 * grad_p**2 + 2 * (math.sqrt(h) * rr + y_bound) * hess_p

    return _loss_problem(
        "two_layer_tanh",
        xs,
        preds,
        labels,
        {"inputs": str(inputs), "teacher_w": str(teacher_w), "teacher_a": str(teacher_a)},
        beta_on_ball,
        {"x_star": [c for row in teacher_w for c in row] + list(teacher_a)},
        polynomial=False,
    )


@st.composite
def two_layer_tanhs(
    draw, width: st.SearchStrategy[int] = st.integers(1, 2), inputs: st.SearchStrategy[int] = st.integers(1, 2)
):
    h, n, m = draw(width), draw(inputs), 2
    vec = st.lists(_entry, min_size=m, max_size=m).filter(any)
    zs = [draw(vec) for _ in range(n)]
    tw = [draw(vec) for _ in range(h)]
    ta = [draw(_entry.filter(lambda c: c != 0)) for _ in range(h)]
    return two_layer_tanh(zs, tw, ta)


def setting1_problems() -> st.SearchStrategy[Problem]:
    """Every Setting-1 family."""
    return st.one_of(diagonal_networks(), linear_regressions(), matrix_sensings(), two_layer_tanhs())


@st.composite
def near_minimizers(draw, problems: st.SearchStrategy, offsets=(-2, -1, 0, 1, 2)) -> PointInstance:
    """A Setting-1 problem and x = x* + r·w: x* its known minimizer, w a small integer direction,
    r = 2^{-k}, k ∈ [1, 5]."""
    prob = draw(problems)
    w = draw(st.lists(st.sampled_from(offsets), min_size=prob.d, max_size=prob.d))
    k = draw(st.integers(1, 5))
    x = [c + wi * 2 ** (-k) for c, wi in zip(prob.known["x_star"], w)]
    return PointInstance(prob, x, scalars={"r": 2.0**-k})


@st.composite
def sharp_points(draw, problems: st.SearchStrategy | None = None) -> PointInstance:
    """A diagonal network and x0 = (u, v) with positive rational u ≠ v: Φ(x0) is a point of X* that is
    not a flat minimum (∂Φ∇tr̄ ≠ 0 there)."""
    prob = draw(problems if problems is not None else diagonal_networks())
    k = prob.d // 2
    pos = st.builds(lambda p, q: sp.Rational(p, q), st.integers(1, 8), st.sampled_from([2, 4]))
    u = draw(st.lists(pos, min_size=k, max_size=k))
    v = draw(st.lists(pos, min_size=k, max_size=k).filter(lambda w: w != u))
    return PointInstance(prob, u + v)


def normal_direction(problem: Problem, x: torch.Tensor) -> torch.Tensor:
    """Σ_i ∇p_i/‖∇p_i‖ normalized, at rows x of a diagonal network: a unit normal to X* along
    which every example's gradient is non-zero."""
    k = problem.d // 2
    u, v = x[..., :k], x[..., k:]
    groups = problem.params["groups"]
    bounds = [sum(groups[:i]) for i in range(len(groups) + 1)]
    parts_u, parts_v = [], []
    for a, b in zip(bounds, bounds[1:]):
        gu, gv = v[..., a:b], u[..., a:b]  # ∇p_i = (v_S, u_S) on the group's coordinates
        nrm = torch.sqrt((gu * gu).sum(-1, keepdim=True) + (gv * gv).sum(-1, keepdim=True))
        parts_u.append(gu / nrm)
        parts_v.append(gv / nrm)
    n = torch.cat(parts_u + parts_v, -1)
    return n / torch.linalg.vector_norm(n, dim=-1, keepdim=True)


def minibatch_problem(problem: Problem, batch: int) -> Problem:
    """The same loss with its examples grouped into consecutive mini-batches of `batch` (the per-
    example losses of the result are the batch means): SAP on it is SAP with batch size `batch`."""
    ex = problem.examples
    groups = [ex[i : i + batch] for i in range(0, len(ex), batch)]
    return Problem(
        family=problem.family,
        symbols=problem.symbols,
        expr=problem.expr,
        params={**problem.params, "batch": batch},
        beta_on_ball=problem.beta_on_ball,
        is_polynomial=problem.is_polynomial,
        known=problem.known,
        examples=tuple(sp.Add(*g) / len(g) for g in groups),
    )
