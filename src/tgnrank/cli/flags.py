"""Command-line flags generated from the settings' declarations (:mod:`tgnrank.train.config`).

A setting declared in a section appears as ``--{name}`` on every command that lists it, with its type,
choices, default and help taken from the declaration: adding a setting touches its declaration only.
"""

from __future__ import annotations

import argparse

from tgnrank.config.params import Boolean, Interval, Options, declared, flag
from tgnrank.train.config import SECTIONS, declarations

SHORT_FLAGS = {"data": ("-d",)}  # TGN's one-letter spellings


def add_setting(group, name: str, unset: bool = False, help: str | None = None) -> None:
    """Add the flag of the setting ``name`` to ``group``.

    ``unset``: the flag's default is None (so a command can tell "not given" from the default, e.g. to
    take the value from a checkpoint); ``help`` replaces the declared help text.
    """
    _, default, declaration = declarations()[name]
    add_declared(group, name, default, declaration, unset, help)


def add_section(parser: argparse.ArgumentParser, section, helps: dict[str, str] | None = None) -> None:
    """Add the flags of every setting declared in ``section`` (a Section class) as one argument group;
    ``helps`` replaces the declared help text of the settings it names, for this command only."""
    group = parser.add_argument_group(section.TITLE)
    for spec, declaration in declared(section):
        add_declared(group, spec.name, spec.default, declaration, help=(helps or {}).get(spec.name))


def section_from_args(section, args: argparse.Namespace):
    """An instance of ``section`` from the parsed flags of its settings."""
    return section(**{spec.name: getattr(args, spec.name) for spec, _ in declared(section)})


def add_declared(group, name: str, default, declaration, unset: bool = False, help: str | None = None) -> None:
    """Add the flag of one declared setting (its default, constraint and help) to ``group``."""
    constraint = declaration.constraint
    text = help or declaration.help
    spellings = (*SHORT_FLAGS.get(name, ()), flag(name))
    if isinstance(constraint, Boolean):
        action = argparse.BooleanOptionalAction if default and not unset else "store_true"
        group.add_argument(*spellings, action=action, default=None if unset else default, help=text)
        return
    kind = constraint.kind if isinstance(constraint, Interval) else str
    # Choices are shown, not enforced by argparse: the declaration's checker rejects a bad value in the
    # same words from the command line as from Python.
    metavar = "{" + ",".join(constraint.values) + "}" if isinstance(constraint, Options) else None
    shown = "" if unset else f" (default: {'empty' if default == '' else '%(default)s'})"
    group.add_argument(*spellings, type=kind, metavar=metavar, default=None if unset else default, help=text + shown)


def add_settings(parser: argparse.ArgumentParser, names=None, exclude=(), title: str | None = None) -> None:
    """Add the flags of the settings ``names`` (default: all) minus ``exclude``.

    With ``title`` they go in one argument group; without, in one group per section (its ``TITLE``).
    """
    wanted = [name for name in (names or declarations()) if name not in set(exclude)]
    if title is not None:
        group = parser.add_argument_group(title)
        for name in wanted:
            add_setting(group, name)
        return
    by_section = {section: [] for section in SECTIONS}
    for name in wanted:
        by_section[declarations()[name][0]].append(name)
    for section, names_here in by_section.items():
        if names_here:
            group = parser.add_argument_group(SECTIONS[section].TITLE)
            for name in names_here:
                add_setting(group, name)


def settings_from_args(args: argparse.Namespace) -> dict:
    """The settings present in parsed arguments, by flat name (absent or None ones left out)."""
    return {name: getattr(args, name) for name in declarations() if getattr(args, name, None) is not None}
