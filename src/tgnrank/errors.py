"""Errors that reach the user as a one-line message rather than a traceback.

A message names parameters as the library spells them (``n_degree must be an integer >= 1``), and
``parameters`` lists those names, so that the command line, which alone knows its flags, can spell
them as flags (``--n_degree``) without the library knowing about argparse.
"""


class TgnrankError(Exception):
    """Base class for errors caused by the user's input (files, flags), reported without a traceback."""

    def __init__(self, message: str, parameters: tuple[str, ...] | list[str] = ()):
        super().__init__(message)
        self.parameters = tuple(parameters)

    def __reduce__(self):
        # Keep the parameters across processes (sweeps and threads pickle errors).
        return type(self), (str(self), self.parameters)


class DataFormatError(TgnrankError, ValueError):
    """A dataset or import file exists but does not have the expected format."""


class ConfigError(TgnrankError, ValueError):
    """A setting or parameter is outside its accepted range; the message names it."""


class MissingInputError(TgnrankError, FileNotFoundError):
    """A file or dataset the user named does not exist; still a FileNotFoundError for callers that catch one."""
