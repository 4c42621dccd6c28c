"""The protocol for a user's implementation, adapters to it, and flatcheck's built-in ones."""

from flatcheck.impl.builtin import BUILTINS, builtin
from flatcheck.impl.harness import step_examples, step_weights
from flatcheck.impl.kinds import infer_algorithm, kinds_for
from flatcheck.impl.protocol import Implementation, load_class

__all__ = [
    "BUILTINS",
    "Implementation",
    "builtin",
    "infer_algorithm",
    "kinds_for",
    "load_class",
    "step_examples",
    "step_weights",
]
