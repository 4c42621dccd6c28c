"""The protocol for a user's implementation, adapters to it, and flatcheck's built-in ones."""

from flatcheck.impl.builtin import BUILTINS, builtin
from flatcheck.impl.drivers import DRIVERS
from flatcheck.impl.harness import step_examples, step_weights
from flatcheck.impl.kinds import infer_algorithm, kinds_for
from flatcheck.impl.protocol import Chains, Implementation, Path, load_class, user_implementation
from flatcheck.impl.spec import SPECS, AlgorithmSpec, register, spec_of

__all__ = [
    "BUILTINS",
    "DRIVERS",
    "SPECS",
    "AlgorithmSpec",
    "Chains",
    "Implementation",
    "Path",
    "builtin",
    "infer_algorithm",
    "kinds_for",
    "load_class",
    "register",
    "spec_of",
    "step_examples",
    "step_weights",
    "user_implementation",
]
