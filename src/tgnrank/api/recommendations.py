"""Recommendations in the Python API: :func:`recommend`, the investors a model ranks highest for a company.

It runs what ``tgnrank recommend`` runs (:func:`tgnrank.eval.recommend.recommend_investors`: the model
replays every event up to ``at`` and scores the company against every investor seen so far, its past
investors excluded) and returns the list as a DataFrame.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tgnrank.api.diagnostics import dataset_of
from tgnrank.api.training import as_model, resolve_device
from tgnrank.errors import ConfigError

COLUMNS = ["rank", "investor_id", "investor", "score", "percentile", "invested_later"]


def recommend(
    model,
    company: str | int,
    k: int = 20,
    at=None,
    data=None,
    data_dir: str | Path = "data",
    fusion=None,
    explain: bool = False,
    calibrate: bool = False,
    calibration_negatives: int | None = None,
    calibration_seed: int = 0,
    device=None,
    batch_size: int | None = None,
) -> pd.DataFrame:
    """The ``k`` investors ``model`` finds most likely to newly invest in ``company``, best first.

    ``company``: its name (case-insensitive) or node id. ``at``: a date ``"YYYY-MM-DD"`` or a number of
    days since 1970-01-01 (default: the last event, all the data). ``data``: an EventData or a dataset
    name (default: the model's). ``fusion``: rank with a learned fusion instead of the model's score, the
    model feeding its model-score feature: the result of :func:`tgnrank.fuse`, its ``ranker``, or the
    ``.lgb.txt`` booster the commands write.

    One row per investor: ``rank`` among all the company's candidate investors (1 = best),
    ``investor_id``, ``investor``, ``score`` (the model's logit, or the fused score: a ranking score, not
    a probability), ``percentile`` (share of the candidates scoring strictly lower) and
    ``invested_later`` (it did invest after ``at``); with ``calibrate``, ``p_new_link_within_N_days``
    fitted on the validation window as ``--calibrate`` does; with ``explain``, ``explanation`` (an
    :class:`~tgnrank.api.explanations.InvestorExplanation`). ``frame.attrs`` holds the company, its id,
    ``at`` (ISO date), the number of history events and candidates, the past investors excluded,
    ``ranker``, ``score_meaning`` and, calibrated, ``calibration`` (what the probability is of).
    """
    from tgnrank.eval.recommend import recommend_investors, recommendations_json

    if not isinstance(k, int) or k < 1:
        raise ConfigError(f"k must be an integer >= 1, got {k!r}", ("k",))
    model, data, company_id, when, device, ranker = recommendation_inputs(
        model, company, at, data, data_dir, device, batch_size, fusion
    )
    calibration = None
    if calibrate:
        from tgnrank.eval.calibration import DEFAULT_NEGATIVES, fit_calibration

        n_negatives = DEFAULT_NEGATIVES if calibration_negatives is None else calibration_negatives
        calibration = fit_calibration(model.checkpoint, data, device, batch_size, n_negatives, calibration_seed)
    found = recommend_investors(model.checkpoint, data, company_id, when, k, device, batch_size, calibration, ranker)
    frame = recommendations_frame(recommendations_json(found))
    if explain:
        from tgnrank.api.explanations import explanations_of

        frame["explanation"] = explanations_of(found, data)
    return frame


def recommendation_inputs(model, company, at, data, data_dir, device, batch_size, fusion):
    """(model, data, company id, at in days, device, fused ranker or None), checked, for recommend and explain."""
    from tgnrank.eval.recommend import find_company, parse_at

    model = as_model(model)
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"batch_size must be an integer >= 1, got {batch_size}", ("batch_size",))
    data = dataset_of(data, data_dir, [model])
    company_id = find_company(data, f"#{company}" if isinstance(company, int) else company)
    when = parse_at(None if at is None else str(at), data)
    return model, data, company_id, when, resolve_device(device), fused_ranker(fusion, model)


def fused_ranker(fusion, model):
    """The FusedRanker ``fusion`` names: None, a fuse() result, a FusedRanker, or a saved booster's path."""
    from tgnrank.api.diagnostics import DiagnosticResult
    from tgnrank.eval.fusion import FusedRanker

    if fusion is None or isinstance(fusion, FusedRanker):
        return fusion
    if isinstance(fusion, DiagnosticResult):
        if fusion.ranker is None:
            raise ConfigError("fusion: this diagnostic has no learned fusion (pass the result of tgnrank.fuse)",
                              ("fusion",))
        return fusion.ranker
    if isinstance(fusion, (str, Path)):
        from tgnrank.eval.explain_fusion import load_fusion

        return load_fusion(fusion, model.path)
    raise TypeError(f"fusion must be a fuse() result, a FusedRanker or a booster path, got {type(fusion).__name__}")


def recommendations_frame(payload: dict, columns: list[str] = COLUMNS) -> pd.DataFrame:
    """The DataFrame of ``tgnrank recommend --format json``'s object: its rows (``columns`` first, then
    any other field of the rows), the rest in ``attrs``."""
    rows = payload["recommendations"]
    extra = [column for column in (rows[0] if rows else {}) if column not in columns]
    frame = pd.DataFrame(rows, columns=columns + extra)
    frame.attrs.update({key: value for key, value in payload.items() if key != "recommendations"})
    return frame
