"""Spell the parameters named by a library error or log line as the command line's flags.

Library code names a parameter as it is declared (``n_degree must be an integer >= 1``) and lists the
names in :attr:`TgnrankError.parameters`, or in a log record's ``parameters`` attribute
(``logger.info("restart: ...", extra={"parameters": ("restart",)})``); only this layer knows that the
user typed ``--n_degree``.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager

from tgnrank.config.params import flag
from tgnrank.errors import TgnrankError

# Parameters whose flag is not ``--{name}`` (recommend takes a new company's categories as one
# '|'-separated --category).
RENAMED_FLAGS = {"n_trials": "--trials", "out_dir": "--out", "categories": "--category"}


def flag_of(name: str) -> str:
    """The flag a user types for the parameter ``name``."""
    return RENAMED_FLAGS.get(name) or flag(name)


# A quoted value as repr() writes it ('x' or "x"), not an apostrophe inside a word ("company's").
_QUOTED = r"(?<!\w)'[^'\n]*'(?!\w)|(?<!\w)\"[^\"\n]*\"(?!\w)"


def spell_as_flags(message: str, parameters) -> str:
    """``message`` with every standalone occurrence of a name in ``parameters`` replaced by its flag.

    A name counts only as a whole token outside quoted values: not inside a longer identifier, not
    already after ``-`` (a message already spelled with flags is returned unchanged), not in a value
    the message quotes (``got 'my name'``).
    """
    names = sorted(set(parameters), key=len, reverse=True)
    if not names:
        return message
    token = re.compile(rf"({_QUOTED})|(?<![\w\-])({'|'.join(map(re.escape, names))})(?!\w)")
    return token.sub(lambda match: match.group(1) or flag_of(match.group(2)), message)


def as_flags(error: TgnrankError) -> TgnrankError:
    """A copy of ``error`` (same class) whose message names its parameters by their flags."""
    if not error.parameters:
        return error
    return type(error)(spell_as_flags(str(error), error.parameters), error.parameters)


@contextmanager
def flag_spelling():
    """Re-raise a TgnrankError raised inside the block with its parameters spelled as flags."""
    try:
        yield
    except TgnrankError as error:
        raise as_flags(error) from None


class FlagSpelling(logging.Formatter):
    """Format as ``inner`` does, with the parameters a record lists in ``parameters`` spelled as flags.

    Only the format string is spelled, not its arguments: these are values (a path ``runs/restart``
    stays as it is). The record itself is left unchanged for the other handlers.
    """

    def __init__(self, inner: logging.Formatter):
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        parameters = getattr(record, "parameters", ())
        if parameters:
            record = logging.makeLogRecord({**record.__dict__, "msg": spell_as_flags(str(record.msg), parameters)})
        return self.inner.format(record)


def spell_flags_in(handler: logging.Handler) -> logging.Handler:
    """``handler``, its lines now naming the parameters of library records by their flags."""
    handler.setFormatter(FlagSpelling(handler.formatter or logging.Formatter()))
    return handler
