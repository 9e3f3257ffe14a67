"""Reading inputs and writing outputs: the only package that touches files."""

from .readers import REJECT_SCHEMA, RawInput, fingerprint, read_decisions, read_input, sniff_csv
from .urls import redact_url

__all__ = [
    "REJECT_SCHEMA",
    "RawInput",
    "fingerprint",
    "read_decisions",
    "read_input",
    "redact_url",
    "sniff_csv",
]
