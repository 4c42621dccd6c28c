"""wen2023 sharpness claims: the toy of Figure 1, the sharpness estimators, and each claim verified on
correct inputs and falsified with a wrong constant or a broken estimator."""

from __future__ import annotations

import sympy as sp
import torch

from flatcheck.problems import toy_point, wen_toy


def test_wen_toy_is_the_caption_loss_with_its_per_example_split():
    prob = wen_toy()
    x0, x1, y0, y1 = prob.symbols
    f0, f1 = prob.known["F"]
    assert sp.expand(prob.expr - (f0 * y0**2 + f1 * y1**2)) == 0
    # Per-example losses average to L (flatcheck's f = (1/n) Σ f_i) and vanish on Γ = {y = 0}.
    assert sp.expand(sum(prob.examples) / prob.n_examples - prob.expr) == 0
    pt = toy_point(sp.Rational(1, 2), sp.Rational(1, 4))
    at = dict(zip(prob.symbols, pt))
    assert all(e.subs(at) == 0 for e in prob.examples)
    hess = prob.hess_expr.subs(at)
    assert hess == sp.diag(0, 0, 2 * f0.subs(at), 2 * f1.subs(at))
    x = torch.tensor([float(v) for v in pt], dtype=torch.float64)
    assert torch.allclose(prob.hess(x), torch.tensor([[float(v) for v in r] for r in hess.tolist()]).double())
    g = prob.grad_example(x[None].expand(2, -1) + 0.1, torch.tensor([0, 1]))
    assert g.shape == (2, 4)
