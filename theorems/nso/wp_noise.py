r"""nso.wp_noise — weight-perturbed SGD's perturbation is a fresh draw of P at every step (§2).

    "weight-perturbed SGD (or WP-SGD in short), where we sample a perturbation vector from P and add
     it to the model weights in each iteration before computing the gradient" (§2, Table 1):
    W_{i+1} = W_i − η g(W_i + U),  U ~ P = N(0, σ²I).

As for nso.alg1_noise: WP-SGD evaluates the loss at W + U, so each step's U is read from its
evaluation point (points at W itself, a loss logged before perturbing, are not draws); from many
chains, each taking two steps with the optimizer i ∈ {0, 63, 599} steps into a run, three exact tests
at level α/3 each (`theorems/nso/_noise.py`): U's coordinates independent and symmetric, U fresh at
every step, |U_a|/σ distributed as |Z| under P. A class that evaluates the loss at more than one point
besides W is undecided here (nso.wp_step still judges its steps). flatcheck's built-in is checked
through its optimizer class.
Declared constant: σ's coefficient 1 in U ~ P of standard deviation σ; moved, the law test fails.
No symbolic part: the perturbation is a sampling rule, tested against P's exact symmetries and
distribution function; there is no closed form to derive.
"""

from __future__ import annotations

from flatcheck.problems import PointInstance
from flatcheck.verify import Claim

from ._noise import SIGMA, make_check, noise_instances

CLAIM = Claim(
    id="nso.wp_noise",
    paper="nso",
    ref="§2 (WP-SGD, Table 1)",
    kind="expectation",
    statement=r"W_{i+1}=W_i-\eta\nabla f(W_i+U_i),\ U_i\ \text{i.i.d.}\sim\mathcal N(0,\sigma^2I)\ \text{(fresh)}",
    summary="WP-SGD's perturbation, read where the loss is evaluated, is a fresh draw of P: "
    "independent coordinates, P's law and scale.",
    faithful="exact",
    instances=lambda budget: noise_instances(k=False),
    check=make_check(pairs=False),
    constants=(SIGMA,),
    algorithm="wp_sgd",
    describe=PointInstance.describe,
)
