"""The ``tgnrank`` console script: one subcommand per module of this package.

Each subcommand module exposes ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``,
and imports heavy dependencies (torch) inside ``run`` so that ``tgnrank --help`` stays fast, and so that
the entry points below set the OpenMP wait policy before torch loads (:mod:`tgnrank.openmp`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from tgnrank import __version__
from tgnrank.cli.spelling import as_flags, spell_flags_in
from tgnrank.errors import TgnrankError
from tgnrank.openmp import apply_wait_policy

SUBCOMMANDS = {
    "generate": "tgnrank.cli.generate",
    "import-crunchbase": "tgnrank.cli.import_crunchbase",
    "info": "tgnrank.cli.info",
    "mine": "tgnrank.cli.mine",
    "train": "tgnrank.cli.train",
    "diagnose": "tgnrank.cli.diagnose",
    "fuse": "tgnrank.cli.fuse",
    "compare": "tgnrank.cli.compare",
    "sweep": "tgnrank.cli.sweep",
    "recommend": "tgnrank.cli.recommend",
    "explain": "tgnrank.cli.explain",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tgnrank",
        description="Train Temporal Graph Networks on funding events and rank future (company, investor) links. "
        "Commands are listed in workflow order.",
    )
    parser.add_argument("--version", action="version", version=f"tgnrank {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_path in SUBCOMMANDS.items():
        module = importlib.import_module(module_path)
        sub = subparsers.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def run_command(run, args: argparse.Namespace, prog: str) -> int:
    """Run a subcommand, turning user-input errors into one clear line and exit status 2; library errors and
    log lines name their parameters by their flags."""
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[spell_flags_in(console)])
    try:
        return int(run(args) or 0)
    except (TgnrankError, FileNotFoundError) as error:
        shown = as_flags(error) if isinstance(error, TgnrankError) else error
        print(f"{prog}: error: {shown}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def standalone_main(module_path: str, prog: str, argv: list[str] | None = None) -> int:
    """Run one subcommand module as its own program (the seed-compatible scripts at the repository root)."""
    apply_wait_policy()
    module = importlib.import_module(module_path)
    parser = argparse.ArgumentParser(prog=prog, description=module.__doc__)
    module.add_arguments(parser)
    return run_command(module.run, parser.parse_args(argv), prog=prog)


def main(argv: list[str] | None = None) -> int:
    apply_wait_policy()
    args = build_parser().parse_args(argv)
    return run_command(args.run, args, prog=f"tgnrank {args.command}")


if __name__ == "__main__":
    sys.exit(main())
