"""Boundary checks for pass/fail rules (docs/methodology/exact_comparisons.md).

Every comparison of a result with a threshold is tested here at the threshold itself, one
unit below and one unit above, for denominators where the boundary is a whole number of
units and where it is not. Later stages reuse :func:`check_boundary` for their own rules
(savings against a minimum savings rate, scores against cut-offs).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from dsrip_lib.exact import exact

WHOLES = (5, 7, 100, 1_000, 12_345, 10**9 + 7)  # divisible by typical thresholds' denominators, and not


def check_boundary(decide: Callable[[int, int], bool], threshold: float | str, *, inclusive: bool,
                   wholes: tuple[int, ...] = WHOLES) -> None:
    """Assert that ``decide(part, whole)`` is ``part / whole >= threshold`` (inclusive) or ``>``, exactly.

    ``part`` and ``whole`` are integers (members, or cents). For each ``whole`` the parts
    tried are the exact boundary (when it is a whole number) and the integers just below
    and just above it.
    """
    t = exact(threshold)
    for whole in wholes:
        edge = t * whole
        below, above = math.ceil(edge) - 1, math.floor(edge) + 1
        assert decide(below, whole) is False, (below, whole, threshold)
        assert decide(above, whole) is True, (above, whole, threshold)
        if edge.denominator == 1:
            assert decide(int(edge), whole) is inclusive, (int(edge), whole, threshold)
