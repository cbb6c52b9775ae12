"""Brand-new companies in the Python API: :func:`diagnose_scope` and :func:`recommend_new_company`.

They run what ``tgnrank diagnose --scope new_companies|all`` and ``tgnrank recommend --new_company``
run: the window's brand-new companies (no event before it) ranked against the known investors from
their attributes alone (:mod:`tgnrank.eval.diagnose_scope_models`), and the investors for a company
that is not in the data at all (:func:`tgnrank.eval.recommend_new.recommend_for_new_company`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from tgnrank.api.diagnostics import CommandResult, DiagnosticResult, check_baselines, check_ks, dataset_of, model_list
from tgnrank.api.progress import progress_callback
from tgnrank.api.recommendations import recommendations_frame
from tgnrank.api.training import as_model, resolve_device
from tgnrank.errors import ConfigError

COLUMNS = ["rank", "investor_id", "investor", "score", "percentile", "category_deals"]


@dataclass(frozen=True, eq=False)
class ScopedDiagnosticResult(CommandResult):
    """A diagnostic over a scope's parts (``known``, ``new_companies``, ``all``): ``raw`` is the
    command's results JSON as a dict, ``ranker`` the fitted new-company ranker (or None)."""

    def __repr__(self) -> str:
        parts = ", ".join(f"{part}: {result.window['n_positives']:,} new links" for part, result in self.parts.items())
        return f"ScopedDiagnosticResult(scope={self.scope!r}, {parts})"

    @property
    def scope(self) -> str:
        return self.raw["scope"]

    @cached_property
    def parts(self) -> dict[str, DiagnosticResult]:
        """Each part's diagnostic, with the tables of :class:`~tgnrank.api.diagnostics.DiagnosticResult`."""
        return {part: DiagnosticResult(result) for part, result in self.raw["parts"].items()}

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Every part's metrics table stacked: index (``part``, ``scorer``)."""
        return pd.concat({part: result.metrics for part, result in self.parts.items()}, names=["part", "scorer"])

    def report(self) -> str:
        """The text ``tgnrank diagnose --scope`` prints."""
        from tgnrank.eval.scoped_diagnostic import format_scoped_report

        return format_scoped_report(self.raw)


def diagnose_scope(
    model=None,
    data=None,
    scope: str = "new_companies",
    new_company_ranker=None,
    data_dir: str | Path = "data",
    window: str = "test",
    ks=(100, 1000, 10000),
    baselines=None,
    train_quantile: float | None = None,
    val_quantile: float | None = None,
    device=None,
    batch_size: int | None = None,
    progress=None,
) -> ScopedDiagnosticResult:
    """The diagnostic of ``scope``: ``new_companies`` (the window's brand-new companies and their first
    links to known investors, the model scoring them from their attributes and an empty memory) or
    ``all`` (the known and brand-new parts and their union), as ``tgnrank diagnose --scope``.

    ``model``: one TrainedModel or checkpoint path, or None for the baselines alone (category popularity
    among them). ``new_company_ranker``: True or a NewCompanyRankerOptions to add the learned ranker of
    brand-new companies, fitted on the windows before. The other arguments are :func:`tgnrank.diagnose`'s.
    """
    from tgnrank.config.scope import ScopeOptions
    from tgnrank.eval.diagnose_scope_models import diagnose_scope_models
    from tgnrank.eval.diagnostic import DiagnosticOptions

    models = model_list(model)
    if len(models) > 1:
        raise ConfigError(f"scope {scope} ranks one model (ensembles: tgnrank.diagnose)", ("model",))
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"batch_size must be an integer >= 1, got {batch_size}", ("batch_size",))
    scope = ScopeOptions(scope=scope).scope
    options = DiagnosticOptions(ks=check_ks(ks), baselines=check_baselines(baselines))
    data = dataset_of(data, data_dir, models)
    result, ranker = diagnose_scope_models(
        data, {str(member.path): member.checkpoint for member in models}, window, scope, options,
        (train_quantile, val_quantile), resolve_device(device), batch_size, ranker_choice(new_company_ranker),
        progress_callback(progress),
    )
    return ScopedDiagnosticResult(result, ranker)


def recommend_new_company(
    model,
    name: str,
    categories=(),
    country: str | None = None,
    round_type: str | None = None,
    k: int = 20,
    at=None,
    data=None,
    data_dir: str | Path = "data",
    device=None,
    batch_size: int | None = None,
) -> pd.DataFrame:
    """The ``k`` investors ``model`` scores highest for a company that is not in the data, as
    ``tgnrank recommend --new_company``: the model scores it from its ``categories`` (labels, or one
    ``"a|b"`` string, among the dataset's company categories), ``country`` and an empty memory.

    One row per investor: ``rank``, ``investor_id``, ``investor``, ``score`` (the model's logit),
    ``percentile``, ``category_deals`` (its deals in companies of those categories) and, with
    ``round_type`` (e.g. ``"seed"``), ``round_type_share`` (its share of deals of that type).
    ``frame.attrs`` holds ``new_company`` (the profile), ``at`` and the candidate counts.
    """
    from tgnrank.eval.recommend import parse_at
    from tgnrank.eval.recommend_new import NewCompany, new_company_json, recommend_for_new_company

    model = as_model(model)
    if not isinstance(k, int) or k < 1:
        raise ConfigError(f"k must be an integer >= 1, got {k!r}", ("k",))
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"batch_size must be an integer >= 1, got {batch_size}", ("batch_size",))
    labels = categories.split("|") if isinstance(categories, str) else list(categories)
    company = NewCompany(name, tuple(label.strip() for label in labels if label.strip()), country, round_type)
    data = dataset_of(data, data_dir, [model])
    found = recommend_for_new_company(model.checkpoint, data, company, parse_at(None if at is None else str(at), data),
                                      k, resolve_device(device), batch_size)
    return recommendations_frame(new_company_json(found), COLUMNS)


def ranker_choice(new_company_ranker):
    """The NewCompanyRankerOptions asked for: None (no ranker), the defaults for True, or itself."""
    from tgnrank.eval.new_company_ranker import NewCompanyRankerOptions

    if new_company_ranker is None or new_company_ranker is False:
        return None
    if new_company_ranker is True:
        return NewCompanyRankerOptions(new_company_ranker=True)
    if isinstance(new_company_ranker, NewCompanyRankerOptions):
        return dataclasses.replace(new_company_ranker, new_company_ranker=True)
    raise TypeError("new_company_ranker must be None, True or a NewCompanyRankerOptions, got "
                    f"{type(new_company_ranker).__name__}")
