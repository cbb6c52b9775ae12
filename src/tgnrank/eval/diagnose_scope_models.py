"""The diagnostic of a checkpoint over a scope's parts (``tgnrank diagnose --scope`` and
:func:`tgnrank.diagnose_scope`): known companies, brand-new companies, or both and their union.

The window is placed by the split quantiles (:func:`tgnrank.eval.split_quantiles.window_quantiles`),
its parts by :func:`tgnrank.eval.protocol.build_scope_window`; one replay of the history serves the model
on every part (:func:`tgnrank.eval.scoped_diagnostic.model_scorers_for_parts`), and the learned
new-company ranker (:mod:`tgnrank.eval.new_company_ranker`), when asked for, takes the model's column on
the brand-new companies.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Mapping

from tgnrank.config.scope import KNOWN, NEW_COMPANIES
from tgnrank.data.events import EventData
from tgnrank.errors import ConfigError
from tgnrank.eval.diagnostic import DiagnosticOptions

logger = logging.getLogger(__name__)


def diagnose_scope_models(
    data: EventData,
    checkpoints: Mapping[str, dict],
    window: str = "test",
    scope: str = NEW_COMPANIES,
    options: DiagnosticOptions = DiagnosticOptions(),
    quantiles: tuple[float | None, float | None] = (None, None),
    device=None,
    batch_size: int | None = None,
    ranker_options=None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[dict, object]:
    """:func:`run_scoped_diagnostic`'s dict for at most one checkpoint (path -> checkpoint; none for the
    baselines alone), with ``checkpoint`` (its path or None) and, with the new-company ranker
    (``ranker_options``, a NewCompanyRankerOptions asking for it), ``new_company_ranker`` (its fitting
    windows, importances and seed); and the fitted ranker or None.

    ``quantiles``: the (train, val) split quantiles, each None to take the checkpoint's.
    """
    import torch

    from tgnrank.eval.protocol import build_scope_window
    from tgnrank.eval.scoped_diagnostic import model_scorers_for_parts, run_scoped_diagnostic
    from tgnrank.eval.split_quantiles import window_quantiles
    from tgnrank.train.checkpoint import stored_config

    with_ranker = ranker_options is not None and ranker_options.new_company_ranker
    if len(checkpoints) > 1:
        raise ConfigError(f"scope {scope} ranks one model (ensembles: scope known)", ("scope",))
    if with_ranker and scope == KNOWN:
        raise ConfigError("new_company_ranker ranks brand-new companies: pass scope new_companies or all",
                          ("new_company_ranker", "scope"))
    split = window_quantiles({path: stored_config(c) for path, c in checkpoints.items()}, *quantiles)
    parts = build_scope_window(data.events, window, scope, *split)
    for part, candidates in parts.items():
        logger.info("%s window, %s: %d positives, %d companies x %d investors = %d candidate pairs", window,
                    part, candidates.n_positives, candidates.n_companies, candidates.n_investors, candidates.n_candidates)
    path, checkpoint = next(iter(checkpoints.items()), (None, None))
    model_scorers = {}
    if checkpoint is not None:
        logger.info("Replaying %d history events through the model", len(next(iter(parts.values())).history))
        model_scorers = model_scorers_for_parts(checkpoint, data, parts, device or torch.device("cpu"), batch_size)
    rankers, ranker = {}, None
    if with_ranker:
        from tgnrank.eval.new_company_ranker import NEW_COMPANY_RANKER, new_company_ranker_scorer

        scorer, ranker = new_company_ranker_scorer(data, parts[NEW_COMPANIES], split, ranker_options)
        rankers = {NEW_COMPANIES: (NEW_COMPANY_RANKER, scorer)}
    model_name = Path(path).stem if path is not None else "model"
    result = run_scoped_diagnostic(data, parts, scope, model_scorers, model_name, options, progress, rankers)
    result["checkpoint"] = path
    if ranker is not None:
        result["new_company_ranker"] = {**ranker.summary(), "seed": ranker_options.nc_seed}
    return result, ranker
