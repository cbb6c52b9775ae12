"""Where a comparison's or a sweep's trials run: in this process one after the other (``local``), or as
Ray Tune trials (``ray``) on a Ray started for the command or on an existing cluster.

:class:`ExecutorOptions` declares the flags (``--executor``, ``--ray_address``, ``--max_concurrent``,
``--gpus_per_run``, ``--threads_per_run``) like every other setting, so the command line and Python
check them alike. Ray is an optional dependency: :func:`require_ray` names the extra that installs it.
This module imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass

from tgnrank.config.params import Constraint, Interval, Options, Section, setting
from tgnrank.errors import ConfigError, TgnrankError

EXTRA_HINT = "pip install -e '.[distributed]'"
EXECUTORS = ("local", "ray")


class MissingExtraError(TgnrankError):
    """An optional dependency (Ray, Optuna) is missing: the message names the extra that installs it."""


@dataclass(frozen=True)
class AnyText(Constraint):
    """Any string, the empty one included (an optional address)."""

    def accepts(self, value) -> bool:
        return isinstance(value, str)

    def describe(self) -> str:
        return "a string"


@dataclass(frozen=True)
class ExecutorOptions(Section):
    """How the trials are run; the Ray settings are read only with ``executor == "ray"``."""

    TITLE = "executor (local, or Ray Tune trials on this machine or a cluster)"

    executor: str = setting("local", Options(EXECUTORS), "local: trials one after the other in this process; ray: "
                            "each trial a Ray Tune trial (needs the 'distributed' extra)")
    ray_address: str = setting("", AnyText(), "address of a running Ray cluster (e.g. 10.0.0.1:6379 or auto, see "
                               "`ray start`); empty: start a Ray on this machine for the command, with its CPUs")
    max_concurrent: int = setting(0, Interval(int, 0), "Ray trials running at once; 0: as many as the CPUs (or "
                                  "--gpus_per_run GPUs) allow")
    gpus_per_run: float = setting(0.0, Interval(float, 0.0), "GPUs reserved by each Ray trial (fractions share "
                                  "one); 0: trials train on the CPU")
    threads_per_run: int = setting(0, Interval(int, 0), "torch threads of each Ray trial; 0: as many as this "
                                   "command's (the local executor's), so that both executors give the same floats; "
                                   "its training runs follow --cpu_threads, as local ones do")

    def check_rules(self) -> None:
        ray_only = ("ray_address", "max_concurrent", "gpus_per_run", "threads_per_run")
        if self.executor == "local" and any(getattr(self, name) for name in ray_only):
            given = [name for name in ray_only if getattr(self, name)]
            raise ConfigError(f"{', '.join(given)} only apply with executor ray", parameters=(*given, "executor"))

    @property
    def uses_ray(self) -> bool:
        return self.executor == "ray"

    @property
    def device_name(self) -> str:
        """The torch device of a Ray trial: Ray makes its GPU (if reserved) the only visible one."""
        return "cuda" if self.gpus_per_run > 0 else "cpu"


def require_ray():
    """The ``ray`` module with Tune, or MissingExtraError naming the extra that installs it."""
    try:
        import ray
        import ray.tune  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"executor ray needs Ray Tune, which is not installed: {EXTRA_HINT}",
                                parameters=("executor",)) from None
    return ray
