"""tierwise: customer segmentation that turns invoices into a sales coverage plan."""

from __future__ import annotations

__version__ = "0.1.0"
