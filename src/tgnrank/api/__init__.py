"""The Python API for notebooks and scripts, re-exported by ``tgnrank`` itself (``tgnrank.diagnose``...).

Datasets: :func:`generate_synthetic`, :func:`import_crunchbase`, :func:`load_dataset`. Training:
:func:`train_model` with a :class:`~tgnrank.train.config.TrainConfig`, :func:`load_model`. Ranking:
:func:`diagnose`, :func:`fuse`, :func:`recommend`, :func:`explain`; brand-new companies:
:func:`diagnose_scope`, :func:`recommend_new_company`. Every function returns objects and DataFrames
and prints nothing; long ones report progress to an optional ``progress`` callback or tqdm
(:mod:`tgnrank.api.progress`). The walk-through is docs/python-api.md.
"""

from tgnrank.api.datasets import generate_synthetic, import_crunchbase, load_dataset
from tgnrank.api.diagnostics import DiagnosticResult, diagnose, fuse
from tgnrank.api.explanations import InvestorExplanation, explain
from tgnrank.api.new_companies import ScopedDiagnosticResult, diagnose_scope, recommend_new_company
from tgnrank.api.recommendations import recommend
from tgnrank.api.training import TrainedModel, TrainingResult, load_model, train_model

__all__ = [
    "DiagnosticResult",
    "InvestorExplanation",
    "ScopedDiagnosticResult",
    "TrainedModel",
    "TrainingResult",
    "diagnose",
    "diagnose_scope",
    "explain",
    "fuse",
    "generate_synthetic",
    "import_crunchbase",
    "load_dataset",
    "load_model",
    "recommend",
    "recommend_new_company",
    "train_model",
]
