r"""nso.alg1_noise — the perturbations of Noise Stability Optimization are drawn i.i.d. from P, Algorithm 1, §2.

    Algorithm 1, line 3: "Sample U_i^{(1)}, …, U_i^{(k)} independently from P"; lines 4–5 evaluate
    g(W_i + U_i^{(j)}) and g(W_i − U_i^{(j)}). P = N(0, σ²I_d) in the paper's analysis and experiments;
    Laplace, uniform and Rademacher in Table 1 (i.i.d. coordinates of variance σ²).

The step itself cannot show the law of U on a quadratic (½(g(W+U) + g(W−U)) = ∇f(W) for every U)
and shows it on a higher-degree f only through the moments f's terms couple; where U is drawn does
show it: the closure is evaluated at W ± U_j, so each step's U_1 … U_k are read from its evaluation
points (`Implementation.path(..., points=True)`; points at W itself and repeats are not draws). From
many chains, each taking two steps with the optimizer i ∈ {0, 63, 599} steps into a run, three exact
tests at level α/3 each (`theorems/nso/_noise.py`): U's coordinates independent and symmetric (the
sign of U_aU_b a fair coin for every pair a < b: noise shared by tensors, param groups, a matrix's
rows or columns); draws fresh (j and j + 1 of a step, and consecutive steps: one draw for all k,
noise kept across steps); |U_a|/σ distributed as |Z| under P (Kolmogorov–Smirnov; |Z| = 1 for
Rademacher: σ² for σ, a scale of k or d, another law than the one asked for). A class whose steps do
not evaluate the loss at k pairs W ± U is undecided here (its step claims still judge its steps).
flatcheck's built-in is checked through its optimizer class (its batched step has no closure).
Declared constant: σ's coefficient 1 in U ~ P of standard deviation σ; moved, the law test fails.
No symbolic part: line 3 is a sampling rule, tested against P's exact symmetries and distribution
function; there is no closed form to derive.
"""

from __future__ import annotations

from flatcheck.problems import PointInstance
from flatcheck.verify import Claim

from ._noise import SIGMA, make_check, noise_instances

CONSTANTS = (SIGMA,)


CLAIM = Claim(
    id="nso.alg1_noise",
    paper="nso",
    ref="Algorithm 1, line 3, §2",
    kind="expectation",
    statement=r"U_i^{(1)},\dots,U_i^{(k)}\ \text{i.i.d.}\sim P,\ \text{a fresh draw at every step }i"
    r"\quad(P=\mathcal N(0,\sigma^2I_d))",
    summary="NSO's perturbations, read where the loss is evaluated, are i.i.d. draws of P: "
    "independent coordinates, fresh every step, P's law and scale.",
    faithful="exact",
    instances=lambda budget: noise_instances(k=True),
    check=make_check(pairs=True),
    constants=CONSTANTS,
    algorithm="nso",
    describe=PointInstance.describe,
)
