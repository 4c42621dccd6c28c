"""The protocol for a user's implementation, adapters to it, and flatcheck's built-in ones."""

from flatcheck.impl.builtin import BUILTINS, builtin
from flatcheck.impl.protocol import Implementation, load_class

__all__ = ["BUILTINS", "Implementation", "builtin", "load_class"]
