"""Declaring settings: every field of a configuration section carries its default, its constraint and
its help text, in one place, and one checker validates them all with one message format.

The style is scikit-learn's ``_param_validation``: a constraint object (:class:`Interval`,
:class:`Options`, :class:`Boolean`, :class:`Text`, :class:`FileName`) says what is accepted and describes it; the
checker names the parameter, the accepted range and the value::

    hard_neg_ratio must be a finite number in [0.0, 1.0], got 1.2

A parameter is named by its field name, which is also the flat TGN flag name; the error lists it in
``parameters`` and the command line shows it as the flag ``--hard_neg_ratio`` (:mod:`tgnrank.cli.spelling`).
This module imports nothing heavy, so the command line can build its parser instantly.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from dataclasses import dataclass, field, fields

from tgnrank.errors import ConfigError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-]*$")


class Constraint:
    """What a setting accepts. ``reason`` (optional) says why, in the message: "prefix names files, so..."."""

    reason: str | None = None
    value_type: type = str

    def accepts(self, value) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Interval(Constraint):
    """Integers (``kind=int``) or finite reals (``kind=float``) between ``low`` and ``high`` (None: unbounded).

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``; integers are always closed.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    @property
    def value_type(self) -> type:
        return self.kind

    def accepts(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if not math.isfinite(value):
            return False
        low_ok = self.low is None or (value >= self.low if self.closed in ("both", "left") else value > self.low)
        high_ok = self.high is None or (value <= self.high if self.closed in ("both", "right") else value < self.high)
        return low_ok and high_ok

    def describe(self) -> str:
        if self.kind is int:
            if self.high is None:
                return f"an integer >= {self.low}"
            return f"an integer in [{self.low}, {self.high}]"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else float(self.low)
        high = "inf" if self.high is None else float(self.high)
        return f"a finite number in {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options(Constraint):
    """One of ``values`` (strings)."""

    values: tuple[str, ...]

    def accepts(self, value) -> bool:
        return isinstance(value, str) and value in self.values

    def describe(self) -> str:
        return f"one of {', '.join(self.values)}"


@dataclass(frozen=True)
class Boolean(Constraint):
    value_type = bool

    def accepts(self, value) -> bool:
        return isinstance(value, bool) or type(value).__name__ == "bool_"  # numpy's bool too

    def describe(self) -> str:
        return "True or False"


@dataclass(frozen=True)
class Text(Constraint):
    """Any non-empty string (a path, for instance)."""

    def accepts(self, value) -> bool:
        return isinstance(value, str) and bool(value)

    def describe(self) -> str:
        return "a non-empty string"


@dataclass(frozen=True)
class FileName(Constraint):
    """A string usable in a file name; empty only with ``allow_empty``."""

    allow_empty: bool = False
    reason = "names files"

    def accepts(self, value) -> bool:
        return isinstance(value, str) and (bool(value) or self.allow_empty) and bool(_SAFE_NAME.match(value))

    def describe(self) -> str:
        return f"{'a' if self.allow_empty else 'a non-empty'} string of letters, digits, '_', '-' or '.'"


@dataclass(frozen=True)
class Setting:
    """A field's declaration besides its default: constraint, help text and roles.

    ``fingerprint``: whether the setting changes what a run learns (compare refuses to reuse models
    trained with another value); ``model_input``: whether rebuilding the model from a checkpoint needs it
    (the diagnostic checks it against the checkpoint) although it lives outside the model section.
    """

    constraint: Constraint
    help: str
    fingerprint: bool = True
    model_input: bool = False


def setting(default, constraint: Constraint, help: str, fingerprint: bool = True, model_input: bool = False):
    """A dataclass field declaring one setting (use as ``name: type = setting(...)``)."""
    return field(default=default, metadata={"setting": Setting(constraint, help, fingerprint, model_input)})


def flag(name: str) -> str:
    """The command-line spelling of the setting ``name``, as the parsers use it."""
    return f"--{name}"


def declared(section) -> list[tuple[dataclasses.Field, Setting]]:
    """The declared settings of a section class or instance, in declaration order."""
    return [(spec, spec.metadata["setting"]) for spec in fields(section) if "setting" in spec.metadata]


def setting_changes(stored: dict, current: dict) -> list[tuple[str, object, object]]:
    """``(name, stored value, current value)`` for each setting whose value differs, by name; a setting
    one side lacks counts as None there. Resume states and comparison states report what changed with it."""
    return [(name, stored.get(name), current.get(name))
            for name in sorted(set(stored) | set(current)) if stored.get(name) != current.get(name)]


def check_value(name: str, constraint: Constraint, value) -> None:
    """Raise ConfigError in the one message format unless ``constraint`` accepts ``value``."""
    if constraint.accepts(value):
        return
    why = f" {constraint.reason}, so it" if constraint.reason else ""
    raise ConfigError(f"{name}{why} must be {constraint.describe()}, got {value!r}", parameters=(name,))


def check_section(section) -> None:
    """Check every declared setting of ``section`` (a dataclass instance), in declaration order."""
    for spec, declaration in declared(section):
        check_value(spec.name, declaration.constraint, getattr(section, spec.name))


class Section:
    """Base of the frozen configuration sections: checks on construction, dict round trip.

    Subclasses are ``@dataclass(frozen=True)`` with every field declared by :func:`setting`, and may
    override :meth:`check_rules` for rules between their own fields.
    """

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first setting outside its range, or the first broken rule."""
        check_section(self)
        self.check_rules()

    def check_rules(self) -> None:
        """Rules relating several fields of this section; none by default."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict):
        """Build from a dict holding these fields (and possibly others, which are ignored); missing
        fields take their defaults."""
        names = {spec.name for spec in fields(cls)}
        return cls(**{name: value for name, value in values.items() if name in names})
