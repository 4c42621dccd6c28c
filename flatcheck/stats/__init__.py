"""Estimators with confidence intervals, order fits and multiplicity control."""

from flatcheck.stats.intervals import CATALOG_ALPHA, bernstein_interval, bonferroni, mean_interval, z_two_sided
from flatcheck.stats.remainder_order import OrderFit, fit_order, local_orders

__all__ = [
    "CATALOG_ALPHA",
    "OrderFit",
    "bernstein_interval",
    "bonferroni",
    "fit_order",
    "local_orders",
    "mean_interval",
    "z_two_sided",
]
