"""tqdm bars for a ``progress(stage, done, total)`` callback: the Python API's and the commands' alike."""

from __future__ import annotations

from typing import Callable


class StageBars:
    """One tqdm bar per stage, closed when the stage changes or, with ``close_when_done``, as it completes.

    ``describe`` turns a stage into the bar's label and ``unit`` names what the bar counts. ``tqdm.auto``
    shows a widget in a notebook and a text bar on stderr elsewhere. Also a context manager that closes
    the last bar.
    """

    def __init__(self, describe: Callable[[str], str] = str, unit: str = "it", close_when_done: bool = True):
        self.describe, self.unit, self.close_when_done = describe, unit, close_when_done
        self.bar = None
        self.stage = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm.auto import tqdm

        if stage != self.stage:
            self.close()
            self.bar = tqdm(total=total, desc=self.describe(stage), unit=self.unit, leave=False)
            self.stage = stage
        self.bar.update(done - self.bar.n)
        if done >= total and self.close_when_done:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.stage = None, None

    def __enter__(self) -> "StageBars":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
