"""Errors that reach the user as a one-line message rather than a traceback."""


class TgnrankError(Exception):
    """Base class for errors caused by the user's input (files, flags), reported without a traceback."""


class DataFormatError(TgnrankError, ValueError):
    """A dataset or import file exists but does not have the expected format."""


class ConfigError(TgnrankError, ValueError):
    """A flag or hyperparameter is outside its accepted range; the message names the flag."""
