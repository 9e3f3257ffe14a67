"""Settings for the output folder."""

from __future__ import annotations

from typing import Literal

from ._base import Section


class OutputSettings(Section):
    """How the output files are written."""

    csv_locale: Literal[
        "default", "excel-de", "excel-fr", "excel-nl", "excel-es", "excel-ro", "excel-us"
    ] = "default"
    """CSV flavour: "default" (comma, decimal point, no byte-order mark), "excel-de" /
    "excel-fr" / "excel-nl" / "excel-es" / "excel-ro" (semicolon, decimal comma, UTF-8 with a
    byte-order mark: opens as-is in those Excel versions), "excel-us" (comma, decimal point,
    byte-order mark). Default "default"."""
