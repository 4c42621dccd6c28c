"""Test-function families, each defined once in sympy, with hypothesis strategies for instances."""

from flatcheck.problems.example1 import example1
from flatcheck.problems.instances import PointInstance, point_instances, smooth_problems, step_problems
from flatcheck.problems.manifolds import (
    ManifoldInstance,
    kernel_quadratic_instances,
    manifold_instances,
    setting_one_directions,
    setting_one_instances,
    stochastic_instances,
    weighted_squares_instances,
)
from flatcheck.problems.points import LAYOUTS, iterations, layouts, log_uniform, points, rationals, unit_vector
from flatcheck.problems.polynomial import nonzero, random_polynomials, ridge_polynomial
from flatcheck.problems.problem import Problem
from flatcheck.problems.quadratic import quadratic, quadratics
from flatcheck.problems.quadratic_manifolds import manifold_loss, manifold_losses, manifold_point, manifold_points
from flatcheck.problems.starts import toy_starts
from flatcheck.problems.wen_toy import toy_point, wen_toy

__all__ = [
    "ManifoldInstance",
    "PointInstance",
    "Problem",
    "example1",
    "kernel_quadratic_instances",
    "iterations",
    "layouts",
    "LAYOUTS",
    "log_uniform",
    "manifold_instances",
    "manifold_loss",
    "manifold_losses",
    "manifold_point",
    "manifold_points",
    "points",
    "quadratic",
    "quadratics",
    "nonzero",
    "random_polynomials",
    "point_instances",
    "rationals",
    "setting_one_directions",
    "setting_one_instances",
    "ridge_polynomial",
    "smooth_problems",
    "step_problems",
    "stochastic_instances",
    "toy_starts",
    "toy_point",
    "unit_vector",
    "weighted_squares_instances",
    "wen_toy",
]
