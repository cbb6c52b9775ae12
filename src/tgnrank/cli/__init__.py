"""Command-line parsing only: each subcommand module defines ``add_arguments`` and ``run``."""
