"""Synthetic B2B distributor data with planted truths (``tierwise demo``).

Example
-------
>>> from tierwise.demo import generate
>>> data = generate(n_customers=100, seed=7)
>>> sorted(data.tables())[:3]
['activities', 'customers', 'market']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._generate import DEMO_TABLES, STREAMED_TABLES, DemoData, DemoStream, generate, generate_stream

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = [
    "CURRENCY_SYMBOL",
    "DEMO_TABLES",
    "STREAMED_TABLES",
    "DemoData",
    "DemoStream",
    "demo_settings",
    "generate",
    "generate_stream",
]

#: The demo company is a distributor in the United Kingdom (UK postcodes, GB VAT ids): its
#: figures are pounds sterling.
CURRENCY_SYMBOL = "£"


def demo_settings(n_customers: int, seed: int, settings: Settings | None = None) -> Settings:
    """The settings a demo of ``n_customers`` records and ``seed`` runs with: the size and
    seed recorded as generated (``[demo] n_customers``, ``[run] seed``, written to the
    manifest) and the demo data's currency (``[segments] currency_symbol``, £).

    Examples
    --------
    >>> s = demo_settings(2000, 7)
    >>> s.demo.n_customers, s.run.seed, s.segments.currency_symbol
    (2000, 7, '£')
    """
    from ..settings import Settings

    base = settings if settings is not None else Settings()
    return base.with_updates(
        run={"seed": seed},
        demo={"n_customers": n_customers},
        segments={"currency_symbol": CURRENCY_SYMBOL},
    )
