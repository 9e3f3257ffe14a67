"""HiGHS (highspy) instances that print nothing.

``highspy.Highs()`` prints HiGHS's banner as it is made, before any option can be set, so a
run's screen would show solver text. :func:`quiet_highs` makes the compiled solver class
(``highspy._Highs``, which the package exports alongside ``Highs``; the Python subclass only
adds callbacks and a modelling layer tierwise does not use) and turns its output off before
any other call.
"""

from __future__ import annotations

from typing import Any

import highspy

__all__ = ["quiet_highs"]


def quiet_highs() -> Any:
    """A HiGHS solver with its output off (``output_flag`` false).

    Examples
    --------
    >>> h = quiet_highs()
    >>> h.getOptionValue("output_flag")[1]
    False
    """
    h = highspy._Highs()  # type: ignore[attr-defined]
    h.setOptionValue("output_flag", False)
    return h
