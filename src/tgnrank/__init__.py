"""tgnrank: Temporal Graph Networks that rank future investor-company links.

Importing the package changes nothing in the process and loads nothing heavy: the Python API's names
(``tgnrank.train_model``, ``tgnrank.diagnose``, ``tgnrank.TrainConfig``... see :data:`__all__` and
docs/python-api.md) are imported from their modules on first use, so torch loads only when a call
needs it. The command-line entry points set the OpenMP wait policy (see :mod:`tgnrank.openmp`).
"""

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it, imported on first access.
_LAZY = {
    **dict.fromkeys(
        ("generate_synthetic", "import_crunchbase", "load_dataset", "train_model", "load_model", "TrainedModel",
         "TrainingResult", "diagnose", "fuse", "DiagnosticResult", "recommend", "explain", "InvestorExplanation",
         "diagnose_scope", "recommend_new_company", "ScopedDiagnosticResult"),
        "tgnrank.api",
    ),
    "TrainConfig": "tgnrank.train.config",
    "ModelConfig": "tgnrank.config.model",
    **dict.fromkeys(
        ("DataConfig", "LossConfig", "NegativeConfig", "NeighborConfig", "OptimConfig", "RunConfig"),
        "tgnrank.config.sections",
    ),
    "FusionOptions": "tgnrank.eval.fusion",
    "NewCompanyRankerOptions": "tgnrank.eval.new_company_ranker",
    "EventData": "tgnrank.data.events",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tgnrank' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_LAZY})
