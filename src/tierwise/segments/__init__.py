"""Segments: ABCD classes on current value × potential, tiers, niches, quality, overrides and
the yearly review.

The stage function is :func:`segment_customers`; see :mod:`tierwise.segments.stage` for the
steps and docs/segments.md for the mathematics and the settings. The cut-point methods are
public for reuse: :func:`computed_abc` (Ultsch & Lötsch 2015), :func:`pareto_cuts`,
:func:`quantile_cuts` and :func:`natural_breaks` (exact 1-D k-means). :func:`abc_classes`
is the classic Pareto ABC by revenue that the duplicate report uses.
"""

from ._pareto import abc_classes
from .cuts import CutPoints, computed_abc, natural_breaks, pareto_cuts, quantile_cuts
from .stage import CUSTOMER_COLUMNS, SegmentsResult, segment_customers

__all__ = [
    "CUSTOMER_COLUMNS",
    "CutPoints",
    "SegmentsResult",
    "abc_classes",
    "computed_abc",
    "natural_breaks",
    "pareto_cuts",
    "quantile_cuts",
    "segment_customers",
]
