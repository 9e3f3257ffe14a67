"""The built-in stages: importing this module registers them (in pipeline order)."""

from __future__ import annotations

from .registry import ColumnDoc, register_input_columns
from .schema import TABLES

_TYPES = {
    "id": "string",
    "text": "string",
    "number": "float64",
    "int": "int64",
    "date": "date",
    "bool": "bool",
}
_UNITS = {
    "lat": "degrees",
    "lon": "degrees",
    "employees": "people",
    "annual_revenue": "currency",
    "payment_terms_days": "days",
}

register_input_columns(
    [
        *(
            ColumnDoc(
                c.name,
                _TYPES[c.kind],
                _UNITS.get(c.name, ""),
                "",
                "from the customer master or prospects file: "
                + (c.doc or c.name.replace("_", " ")),
            )
            for c in TABLES["customers"].columns
        ),
        ColumnDoc(
            "is_prospect",
            "bool",
            "",
            "",
            "a company from the prospects file that is not a customer yet",
        ),
    ]
)

# the order of these imports is the pipeline's order among stages free to run
from .accounts import _declare as _accounts  # noqa: E402
from .coverage import _declare as _coverage  # noqa: E402
from .crosssell import _declare as _crosssell  # noqa: E402
from .features import _declare as _features  # noqa: E402
from .lifetime import _declare as _lifetime  # noqa: E402
from .potential import _declare as _potential  # noqa: E402
from .segments import _declare as _segments  # noqa: E402
from .terms import _declare as _terms  # noqa: E402

__all__ = [
    "_accounts",
    "_coverage",
    "_crosssell",
    "_features",
    "_lifetime",
    "_potential",
    "_segments",
    "_terms",
]
