"""Spell the parameters named by a library error as the command line's flags.

Library code names a parameter as it is declared (``n_degree must be an integer >= 1``) and lists the
names in :attr:`ConfigError.parameters`; only this layer knows that the user typed ``--n_degree``.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from tgnrank.errors import ConfigError

# Parameters whose flag is not ``--{name}``.
RENAMED_FLAGS = {"n_trials": "--trials"}


def flag_of(name: str) -> str:
    """The flag a user types for the parameter ``name``."""
    return RENAMED_FLAGS.get(name, f"--{name}")


def spell_as_flags(message: str, parameters) -> str:
    """``message`` with every standalone occurrence of a name in ``parameters`` replaced by its flag.

    A name counts only as a whole token: not inside a longer identifier, not already after ``-``, so a
    message that is already spelled with flags is returned unchanged.
    """
    for name in sorted(set(parameters), key=len, reverse=True):
        message = re.sub(rf"(?<![\w\-]){re.escape(name)}(?!\w)", flag_of(name), message)
    return message


def as_flags(error: ConfigError) -> ConfigError:
    """A copy of ``error`` whose message names its parameters by their flags."""
    return ConfigError(spell_as_flags(str(error), error.parameters), error.parameters)


@contextmanager
def flag_spelling():
    """Re-raise a ConfigError raised inside the block with its parameters spelled as flags."""
    try:
        yield
    except ConfigError as error:
        raise as_flags(error) from None
