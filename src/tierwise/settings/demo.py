"""Settings for the demo stage."""

from __future__ import annotations

from ._base import Section


class DemoSettings(Section):
    """The built-in demo dataset."""
