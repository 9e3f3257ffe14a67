"""tierwise: customer segmentation that turns invoices into a sales coverage plan.

The whole run is :func:`run`; each stage is a function of the same name (:func:`features`,
:func:`profitability`, :func:`lifetime`, …) taking file paths or pandas, Polars, PyArrow,
Ibis or Spark DataFrames; :func:`validate` prepares a table the way a run does. See
docs/api.md.

Example
-------
>>> import tierwise
>>> "lifetime" in tierwise.__all__
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import registry
from .api import ValidationResult, run, run_stage, validate
from .errors import (
    EngineError,
    InfeasiblePlanError,
    InputError,
    ModelError,
    NotFittedError,
    Problems,
    SettingsError,
    TierwiseError,
)
from .io.frames import as_arrow
from .pipeline import RunResult
from .registry import StageResult
from .settings import Settings, load_settings


def _export_stages() -> list[str]:
    from .api import _stage_function

    names = []
    for st in registry.stages():
        if st.public:
            globals()[st.name] = _stage_function(st)
            names.append(st.name)
    return names


_STAGE_FUNCTIONS = _export_stages()

__all__ = [  # the stage functions come from the registry
    "EngineError",
    "InfeasiblePlanError",
    "InputError",
    "ModelError",
    "NotFittedError",
    "Problems",
    "RunResult",
    "Settings",
    "SettingsError",
    "StageResult",
    "TierwiseError",
    "ValidationResult",
    "__version__",
    "as_arrow",
    "load_settings",
    "registry",
    "run",
    "run_stage",
    "validate",
    *_STAGE_FUNCTIONS,
]
