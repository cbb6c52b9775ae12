"""The ranking diagnostic and the learned fusion in the Python API: :func:`diagnose`, :func:`fuse`.

Both run what ``tgnrank diagnose`` and ``tgnrank fuse`` run (the protocol of docs/design.md: every
candidate pair of a window ranked by the model and the baselines, from the history before the window)
and return a :class:`DiagnosticResult` whose tables are DataFrames; ``result.raw`` is the dict the
command writes as its results JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from tgnrank.api.datasets import load_dataset
from tgnrank.api.progress import progress_callback
from tgnrank.api.training import TrainedModel, as_model, resolve_device
from tgnrank.errors import ConfigError

DEFAULT_KS = (100, 1000, 10000)


@dataclass(frozen=True, eq=False)
class CommandResult:
    """What a command computes: ``raw``, the results JSON it writes, as a dict, and the model it fitted
    on the way (``ranker``), if any."""

    raw: dict
    ranker: object = field(default=None, repr=False)

    def save(self, path: str | Path) -> Path:
        """Write ``raw`` as the command's results JSON (atomically); returns the path."""
        from tgnrank.train.outputs import write_json

        write_json(Path(path), self.raw)
        return Path(path)


@dataclass(frozen=True, eq=False)
class DiagnosticResult(CommandResult):
    """One diagnostic: ``raw`` (the results JSON as a dict) and, for a fusion, the fitted ``ranker``
    (:class:`~tgnrank.eval.fusion.FusedRanker`, e.g. ``ranker.booster`` is the LightGBM booster)."""

    def __repr__(self) -> str:
        window = self.raw["window"]
        verdict = "" if self.model is None else f", beats it: {self.model_beats_best_baseline}"
        return (f"DiagnosticResult(model={self.model!r}, {window['window']} window: {window['n_positives']:,} new links "
                f"among {window['n_candidates']:,} candidate pairs, best baseline {self.best_baseline!r}{verdict})")

    @property
    def model(self) -> str | None:
        """The ranked model's column (``fusion``, ``ensemble`` or the checkpoint's name), None for baselines alone."""
        return self.raw["model"]

    @property
    def best_baseline(self) -> str:
        """The best baseline: highest Precision@1000, ties by median rank."""
        return self.raw["best_baseline"]

    @property
    def model_beats_best_baseline(self) -> bool | None:
        return self.raw["model_beats_best_baseline"]

    @property
    def window(self) -> dict:
        """The window and its counts: ``t_start``, ``t_end``, ``n_positives``, ``n_candidates``, ..."""
        return dict(self.raw["window"])

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """One row per scorer (models first, then ``random`` and the baselines), one column per metric:
        ``precision@K``, ``recall@K``, ``median_rank``, ``median_rank_pct``, ``lift@1000``, ``mrr``,
        ``hits@10``, ``n_positives``, ``n_candidates``."""
        scorers = self.raw["scorers"]
        models = [*self.raw.get("members", []), self.model] if self.model is not None else []
        order = models + self.raw["baselines"]
        frame = pd.DataFrame([scorers[name]["metrics"] for name in order], index=pd.Index(order, name="scorer"))
        return frame

    @cached_property
    def top_predictions(self) -> pd.DataFrame:
        """The top predicted new links of ``raw["top_predictions_by"]``: rank, company, investor, their ids,
        score and ``hit`` (a true new link of the window)."""
        columns = ["rank", "company", "investor", "company_id", "investor_id", "score", "hit"]
        return pd.DataFrame(self.raw["top_predictions"], columns=columns)

    @cached_property
    def recall_curves(self) -> pd.DataFrame:
        """Recall@k against k for every ranked scorer, long form: ``scorer``, ``k``, ``recall``."""
        frames = [
            pd.DataFrame({"scorer": name, "k": entry["recall_curve"]["k"], "recall": entry["recall_curve"]["recall"]})
            for name, entry in self.raw["scorers"].items()
            if "recall_curve" in entry
        ]
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def fusion_importances(self) -> pd.DataFrame | None:
        """For a fusion, each feature's share of the split gain, highest first (``feature``, ``gain``)."""
        if "fusion" not in self.raw:
            return None
        importances = self.raw["fusion"]["importances"]
        return pd.DataFrame({"feature": list(importances), "gain": list(importances.values())})

    def report(self) -> str:
        """The text ``tgnrank diagnose`` prints for this result."""
        from tgnrank.eval.diagnostic import format_report

        return format_report(self.raw)


def diagnose(
    model=None,
    data=None,
    data_dir: str | Path = "data",
    window: str = "test",
    ks=DEFAULT_KS,
    baselines=None,
    fusion=None,
    weights=None,
    train_quantile: float | None = None,
    val_quantile: float | None = None,
    device=None,
    batch_size: int | None = None,
    progress=None,
) -> DiagnosticResult:
    """Rank every candidate pair of ``window`` ("test" or "val") with ``model`` and the baselines.

    ``model``: a TrainedModel or checkpoint path, a list of them (ranked each and as an ensemble, the
    mean of their logits, weighted by ``weights``), or None for the baselines alone. ``data``: an
    EventData or a dataset name in ``data_dir`` (default: the model's dataset, else ``synthetic``).
    ``ks``: the K of Precision/Recall@K; ``baselines``: a subset of the baselines (default all).
    ``fusion``: True or a :class:`~tgnrank.eval.fusion.FusionOptions` to rank with the learned fusion
    (fitted on the window before, the model's logit one of its features). The split quantiles are the
    model's unless given. ``batch_size``: history replay batch (default: the training one).
    """
    from tgnrank.eval.diagnose_models import diagnose_models
    from tgnrank.eval.diagnostic import DiagnosticOptions

    models = model_list(model)
    options = DiagnosticOptions(ks=check_ks(ks), baselines=check_baselines(baselines))
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"batch_size must be an integer >= 1, got {batch_size}", ("batch_size",))
    data = dataset_of(data, data_dir, models)
    checkpoints = {str(member.path): member.checkpoint for member in models}
    if len(checkpoints) < len(models):
        raise ConfigError("model lists the same checkpoint more than once", ("model",))
    result, ranker = diagnose_models(
        data, checkpoints, window, options, (train_quantile, val_quantile), weights, resolve_device(device),
        batch_size, fusion_choice(fusion), progress_callback(progress),
    )
    return DiagnosticResult(result, ranker)


def fuse(model=None, data=None, options=None, **diagnose_options) -> DiagnosticResult:
    """The learned fusion ranking a window beside the baselines, as ``tgnrank fuse``: :func:`diagnose`
    with ``fusion=options`` (a FusionOptions; default its defaults); ``model`` is optional."""
    from tgnrank.eval.fusion import FusionOptions

    return diagnose(model, data, fusion=options or FusionOptions(), **diagnose_options)


def model_list(model) -> list[TrainedModel]:
    """The models of ``model``: none, one, or each of a list or tuple."""
    if model is None:
        return []
    if isinstance(model, (list, tuple)):
        return [as_model(member) for member in model]
    return [as_model(model)]


def dataset_of(data, data_dir, models: list[TrainedModel]):
    """``data`` itself (an EventData), or the dataset it names, or the models' (several must share one)."""
    from tgnrank.data.events import EventData
    from tgnrank.eval.scoring import check_same_dataset

    if isinstance(data, EventData):
        return data
    if len(models) > 1:
        check_same_dataset({str(member.path): member.dataset for member in models})
    name = data or (models[0].dataset if models else None) or "synthetic"
    return load_dataset(name, data_dir)


def fusion_choice(fusion):
    """The FusionOptions ``fusion`` asks for: None (no fusion), the defaults for True, or itself."""
    from tgnrank.eval.fusion import FusionOptions

    if fusion is None or fusion is False:
        return None
    if fusion is True:
        return FusionOptions()
    if isinstance(fusion, FusionOptions):
        return fusion
    raise TypeError(f"fusion must be None, True or a FusionOptions, got {type(fusion).__name__}")


def check_ks(ks) -> tuple[int, ...]:
    values = tuple(ks)
    if not values or not all(isinstance(k, int) and k >= 1 for k in values):
        raise ConfigError(f"ks must be integers >= 1 (e.g. (100, 1000, 10000)), got {ks!r}", ("ks",))
    return tuple(sorted(set(values)))


def check_baselines(baselines) -> tuple[str, ...]:
    from tgnrank.eval.baselines import BASELINES

    if baselines is None:
        return BASELINES
    names = (baselines,) if isinstance(baselines, str) else tuple(baselines)
    unknown = sorted(set(names) - set(BASELINES))
    if unknown:
        raise ConfigError(f"baselines must be a subset of {', '.join(BASELINES)}; unknown {unknown}", ("baselines",))
    return names
