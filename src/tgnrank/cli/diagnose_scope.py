"""``tgnrank diagnose --scope new_companies|all``: the diagnostic of brand-new companies, or of every company.

With ``--scope new_companies`` the candidates are the window's brand-new companies (no event before
it) against the investors of the history, and the positives their first links (docs/design.md,
"Brand-new companies"); ``all`` adds the known companies' grid and reports each part and their union.
One checkpoint (or none, with ``--baselines-only``) is ranked; ``--new_company_ranker`` adds the
learned new-company ranker, fitted on the windows before (:mod:`tgnrank.eval.new_company_ranker`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tgnrank.cli.flags import add_section, section_from_args
from tgnrank.config.scope import KNOWN, ScopeOptions
from tgnrank.errors import ConfigError


def add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    from tgnrank.eval.new_company_ranker import NewCompanyRankerOptions

    add_section(parser, ScopeOptions)
    add_section(parser, NewCompanyRankerOptions)


def uses_scope(args: argparse.Namespace) -> bool:
    """Whether the command asks for more than today's protocol (and so runs :func:`run_scope`)."""
    return args.scope != KNOWN or bool(args.new_company_ranker)


def run_scope(args: argparse.Namespace) -> int:
    from tgnrank.cli.diagnose import (
        ProgressBars, check_batch_size, load_checkpoints, parse_baselines, parse_ks, parse_model_paths, write_outputs,
    )
    from tgnrank.data import open_dataset
    from tgnrank.eval.diagnose_scope_models import diagnose_scope_models
    from tgnrank.eval.diagnostic import DiagnosticOptions
    from tgnrank.eval.new_company_ranker import NewCompanyRankerOptions
    from tgnrank.eval.scoped_diagnostic import format_scoped_report
    from tgnrank.train.device import select_device

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
    with ProgressBars() as progress:
        result, ranker = diagnose_scope_models(
            data, checkpoints, args.window, scope, options, (args.train_quantile, args.val_quantile),
            select_device(args.gpu), args.batch_size, ranker_options, progress,
        )
    stem = f"{Path(paths[0]).stem if checkpoint is not None else 'baselines-' + data.name}-{args.window}-{scope}"
    write_outputs(Path(args.out), stem, result, format_scoped_report(result), ranker)
    return 0


def check_scope_flags(args: argparse.Namespace, scope: str) -> None:
    """The flags that only make sense with the other scope: ConfigError naming them."""
    if args.new_company_ranker and scope == KNOWN:
        raise ConfigError("new_company_ranker ranks brand-new companies: pass scope new_companies or all",
                          ("new_company_ranker", "scope"))
    if getattr(args, "fusion", False):
        raise ConfigError(f"fusion learns from the known pairs' own history, which brand-new companies lack; with "
                          f"scope {scope} use new_company_ranker", ("fusion", "scope", "new_company_ranker"))
