"""Synthetic B2B distributor data with planted truths (``tierwise demo``).

Example
-------
>>> from tierwise.demo import generate
>>> data = generate(n_customers=100, seed=7)
>>> sorted(data.tables())[:3]
['activities', 'customers', 'market']
"""

from ._generate import DEMO_TABLES, STREAMED_TABLES, DemoData, DemoStream, generate, generate_stream

__all__ = [
    "DEMO_TABLES",
    "STREAMED_TABLES",
    "DemoData",
    "DemoStream",
    "generate",
    "generate_stream",
]
