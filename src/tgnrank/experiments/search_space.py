"""A sweep's search space: ranges and choices of training settings, read from a small TOML file and
checked against the settings' declarations (:mod:`tgnrank.config`).

One table per setting, named by its flag (without the dashes)::

    [lr]
    low = 1e-5
    high = 1e-3
    log = true

    [loss]
    choices = ["bce", "focal", "softmax"]

A numeric setting takes ``low`` and ``high`` (both accepted by its declaration, ``low < high``) and
optionally ``log`` (a log-uniform draw, needs ``low > 0``) or ``step`` (a grid); any setting takes
``choices`` (a non-empty list, each value accepted by its declaration). Errors name the file, the
setting and what it accepts. The package ships ``spaces/ranking.toml`` (``--preset ranking``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tgnrank.config.params import Interval
from tgnrank.errors import ConfigError
from tgnrank.train.config import declarations

SPACE_PRESETS = ("ranking",)
# Settings the sweep itself sets (data and files, runs, the metric it optimises), so never searched.
SWEEP_CONTROLLED = ("data", "data_dir", "prefix", "n_runs", "seed", "gpu", "wandb", "early_stop_metric")
_RANGE_KEYS = {"low", "high", "log", "step"}


@dataclass(frozen=True)
class Dimension:
    """One searched setting: a range (``low``, ``high``, ``log``, ``step``; ``kind`` int or float) or
    ``choices``."""

    name: str
    kind: type | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple | None = None

    def suggest(self, trial):
        """The trial's value for this setting (an ``optuna.Trial``)."""
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind is int:
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), step=self.step, log=self.log)

    def to_dict(self) -> dict:
        if self.choices is not None:
            return {"choices": list(self.choices)}
        spec = {"low": self.low, "high": self.high, "log": self.log}
        return spec if self.step is None else {**spec, "step": self.step}


@dataclass(frozen=True)
class SearchSpace:
    """The searched settings, in file order, and the file they came from."""

    dimensions: tuple[Dimension, ...]
    source: str

    @property
    def names(self) -> list[str]:
        return [dimension.name for dimension in self.dimensions]

    def suggest(self, trial) -> dict:
        """One trial's settings by flat name."""
        return {dimension.name: dimension.suggest(trial) for dimension in self.dimensions}

    def to_dict(self) -> dict:
        return {dimension.name: dimension.to_dict() for dimension in self.dimensions}


def preset_space_path(preset: str):
    """The shipped space file of ``preset`` (a ``Traversable`` inside the installed package)."""
    if preset not in SPACE_PRESETS:
        raise ConfigError(f"preset must be one of {list(SPACE_PRESETS)}, got {preset!r}", parameters=("preset",))
    return resources.files("tgnrank.experiments").joinpath("spaces", f"{preset}.toml")


def load_space(path) -> SearchSpace:
    """Read and check the space file ``path`` (a path or a package resource)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8") if isinstance(path, (str, Path)) else path.read_text("utf-8")
    except FileNotFoundError:
        # The path is quoted and the message says "search space" nowhere else, so that only the setting
        # becomes --space on the command line.
        raise ConfigError(f"space {source!r}: no such file", parameters=("space",)) from None
    try:
        tables = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"space {source!r} is not valid TOML: {error}", parameters=("space",)) from None
    return parse_space(tables, source)


def parse_space(tables: dict, source: str) -> SearchSpace:
    """A SearchSpace from the TOML ``tables`` of ``source`` (named in every error)."""
    known = declarations()
    dimensions = []
    for name, spec in tables.items():
        # Quoted, so that the command line spells the setting as its flag in the message but not in the table.
        where = f"search space {source!r}, table '[{name}]'"
        if name not in known:
            raise ConfigError(f"{where}: unknown setting {name!r}; a space names training settings such as lr, "
                              f"loss or n_neg (see tgnrank train --help)")
        if name in SWEEP_CONTROLLED:
            raise ConfigError(f"{where}: {name} is set by the sweep itself, so it cannot be searched",
                              parameters=(name,))
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a table with low/high or choices, got {spec!r}")
        dimensions.append(_dimension(name, spec, known[name][2].constraint, where))
    if not dimensions:
        raise ConfigError(f"search space {source} declares no setting")
    return SearchSpace(tuple(dimensions), source)


def _dimension(name: str, spec: dict, constraint, where: str) -> Dimension:
    unknown = sorted(set(spec) - _RANGE_KEYS - {"choices"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; expected low, high, log, step or choices")
    if "choices" in spec:
        if set(spec) != {"choices"}:
            raise ConfigError(f"{where}: choices cannot be combined with {sorted(set(spec) - {'choices'})}")
        return _choices(name, spec["choices"], constraint, where)
    if not isinstance(constraint, Interval):
        raise ConfigError(f"{where}: {name} is not numeric ({constraint.describe()}), so it takes choices",
                          parameters=(name,))
    return _range(name, spec, constraint, where)


def _choices(name: str, choices, constraint, where: str) -> Dimension:
    if not isinstance(choices, list) or not choices:
        raise ConfigError(f"{where}: choices must be a non-empty list, got {choices!r}")
    for value in choices:
        if not constraint.accepts(value):
            raise ConfigError(f"{where}: choice {value!r} is outside {name}'s range: it must be "
                              f"{constraint.describe()}", parameters=(name,))
    return Dimension(name, choices=tuple(choices))


def _range(name: str, spec: dict, constraint: Interval, where: str) -> Dimension:
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"{where}: a range needs both low and high (or give choices)")
    low, high = spec["low"], spec["high"]
    for key, value in (("low", low), ("high", high)):
        if not constraint.accepts(value):
            raise ConfigError(f"{where}: {key} = {value!r} is outside {name}'s range: it must be "
                              f"{constraint.describe()}", parameters=(name,))
    if not low < high:
        raise ConfigError(f"{where}: low must be < high, got low = {low!r}, high = {high!r}")
    log, step = spec.get("log", False), spec.get("step")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log must be true or false, got {log!r}")
    if log and low <= 0:
        raise ConfigError(f"{where}: log = true needs low > 0, got {low!r}")
    if step is not None:
        if log:
            raise ConfigError(f"{where}: step and log = true cannot be combined")
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0 or \
                (constraint.kind is int and not isinstance(step, int)):
            raise ConfigError(f"{where}: step must be a positive {constraint.kind.__name__}, got {step!r}")
    return Dimension(name, kind=constraint.kind, low=low, high=high, log=log, step=step)
