"""``tgnrank diagnose --scope new_companies|all``: the diagnostic of brand-new companies, or of every company.

With ``--scope new_companies`` the candidates are the window's brand-new companies (no event before
it) against the investors of the history, and the positives their first links (docs/design.md,
"Brand-new companies"); ``all`` adds the known companies' grid and reports each part and their union.
One checkpoint (or none, with ``--baselines-only``) is ranked; ``--new_company_ranker`` adds the
learned new-company ranker, fitted on the windows before (:mod:`tgnrank.eval.new_company_ranker`).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from tgnrank.cli.flags import add_section, section_from_args
from tgnrank.config.scope import KNOWN, NEW_COMPANIES, ScopeOptions
from tgnrank.errors import ConfigError

logger = logging.getLogger(__name__)


def add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    from tgnrank.eval.new_company_ranker import NewCompanyRankerOptions

    add_section(parser, ScopeOptions)
    add_section(parser, NewCompanyRankerOptions)


def uses_scope(args: argparse.Namespace) -> bool:
    """Whether the command asks for more than today's protocol (and so runs :func:`run_scope`)."""
    return args.scope != KNOWN or bool(args.new_company_ranker)


def run_scope(args: argparse.Namespace) -> int:
    from tgnrank.cli.diagnose import (
        ProgressBars, check_batch_size, load_checkpoints, parse_baselines, parse_ks, parse_model_paths,
    )
    from tgnrank.data import atomic_write, open_dataset
    from tgnrank.eval.diagnostic import DiagnosticOptions
    from tgnrank.eval.new_company_ranker import NewCompanyRankerOptions
    from tgnrank.eval.protocol import build_scope_window
    from tgnrank.eval.scoped_diagnostic import format_scoped_report, run_scoped_diagnostic

    scope = section_from_args(ScopeOptions, args).scope
    ranker_options = section_from_args(NewCompanyRankerOptions, args)
    check_scope_flags(args, scope)
    check_batch_size(args.batch_size)
    options = DiagnosticOptions(ks=parse_ks(args.k), baselines=parse_baselines(args.baselines))
    paths = parse_model_paths(args.model_path)
    if len(paths) > 1 or args.ensemble_weights is not None:
        raise ConfigError(f"scope {scope} ranks one model_path (ensembles: scope known)",
                          ("scope", "model_path", "ensemble_weights"))
    checkpoints = {}
    if not args.baselines_only:
        if not paths:
            raise ConfigError("model_path is required (or pass --baselines-only to rank with the baselines alone)",
                              ("model_path",))
        checkpoints = load_checkpoints(args, paths)
    checkpoint = next(iter(checkpoints.values()), None)
    data_name = args.data or (checkpoint["config"].get("dataset") if checkpoint else None) or "synthetic"
    data = open_dataset(data_name, args.data_dir)
    quantiles = _quantiles(args, checkpoints)
    parts = build_scope_window(data.events, args.window, scope, *quantiles)
    for part, candidates in parts.items():
        logger.info("%s window, %s: %d positives, %d companies x %d investors = %d candidate pairs", args.window,
                    part, candidates.n_positives, candidates.n_companies, candidates.n_investors, candidates.n_candidates)
    model_name = Path(paths[0]).stem if checkpoint is not None else "model"
    model_scorers = _model_scorers(args, checkpoint, data, parts)
    rankers, ranker = {}, None
    if ranker_options.new_company_ranker:
        from tgnrank.eval.new_company_ranker import NEW_COMPANY_RANKER, new_company_ranker_scorer

        scorer, ranker = new_company_ranker_scorer(data, parts[NEW_COMPANIES], quantiles, ranker_options)
        rankers = {NEW_COMPANIES: (NEW_COMPANY_RANKER, scorer)}
    with ProgressBars() as progress:
        result = run_scoped_diagnostic(data, parts, scope, model_scorers, model_name, options, progress, rankers)
    result["checkpoint"] = paths[0] if checkpoint is not None else None
    stem = f"{model_name if checkpoint is not None else 'baselines-' + data.name}-{args.window}-{scope}"
    if ranker is not None:
        result["new_company_ranker"] = {**ranker.summary(), "seed": ranker_options.nc_seed}
        ranker.save(Path(args.out) / f"diagnostic-{stem}.lgb.txt")
    print(format_scoped_report(result))
    out_path = Path(args.out) / f"diagnostic-{stem}.json"
    atomic_write(out_path, lambda handle: handle.write(json.dumps(result, indent=1).encode("utf-8")))
    print(f"\nresults: {out_path}")
    return 0


def check_scope_flags(args: argparse.Namespace, scope: str) -> None:
    """The flags that only make sense with the other scope: ConfigError naming them."""
    if args.new_company_ranker and scope == KNOWN:
        raise ConfigError("new_company_ranker ranks brand-new companies: pass scope new_companies or all",
                          ("new_company_ranker", "scope"))
    if getattr(args, "fusion", False):
        raise ConfigError(f"fusion learns from the known pairs' own history, which brand-new companies lack; with "
                          f"scope {scope} use new_company_ranker", ("fusion", "scope", "new_company_ranker"))


def _quantiles(args: argparse.Namespace, checkpoints: dict[str, dict]) -> tuple[float, float]:
    from tgnrank.eval.split_quantiles import window_quantiles
    from tgnrank.train.checkpoint import stored_config

    configs = {path: stored_config(checkpoint) for path, checkpoint in checkpoints.items()}
    return window_quantiles(configs, args.train_quantile, args.val_quantile)


def _model_scorers(args: argparse.Namespace, checkpoint: dict | None, data, parts) -> dict:
    if checkpoint is None:
        return {}
    from tgnrank.eval.scoped_diagnostic import model_scorers_for_parts
    from tgnrank.train.device import select_device

    logger.info("Replaying %d history events through the model", len(next(iter(parts.values())).history))
    return model_scorers_for_parts(checkpoint, data, parts, select_device(args.gpu), args.batch_size)
