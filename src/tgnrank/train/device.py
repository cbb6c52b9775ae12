"""Choose the torch device from the ``gpu`` setting, and torch's CPU threads from ``cpu_threads``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from tgnrank.errors import ConfigError
from tgnrank.parallel import machine_cpus

logger = logging.getLogger(__name__)


def select_device(gpu: int) -> torch.device:
    """``cuda:{gpu}`` when CUDA is available, else the CPU (logged). ``gpu = -1`` asks for the CPU.

    A GPU index beyond the visible devices is a ConfigError naming ``gpu``.
    """
    if gpu < 0:
        logger.info("Using the CPU (gpu %d)", gpu, extra={"parameters": ("gpu",)})
        return torch.device("cpu")
    if not torch.cuda.is_available():
        logger.info("CUDA is not available: training on the CPU (gpu %d ignored)", gpu, extra={"parameters": ("gpu",)})
        return torch.device("cpu")
    n_devices = torch.cuda.device_count()
    if gpu >= n_devices:
        raise ConfigError(
            f"gpu must be in 0..{n_devices - 1} (CUDA devices visible) or -1 for the CPU, got {gpu}", parameters=("gpu",)
        )
    device = torch.device(f"cuda:{gpu}")
    logger.info("Using %s (%s)", device, torch.cuda.get_device_name(device))
    return device


# A training pass runs many mid-sized operations and their backward, each a parallel region whose
# waiting worker threads must be woken (OpenMP waits passively, see tgnrank.openmp). On 2 cores, 1
# thread trained the real export 1.33x faster than 2, idle or with another job on a core; more cores
# were not measured. Evaluation has no backward pass, and there 2 threads were faster: the per-epoch
# validation 1.23x (real export, 8 alternating repetitions), its ranking 1.08x.
FEW_CORES = 2


def training_threads(cpu_threads: int, available_cores: int | None = None) -> int:
    """The CPU threads of a run's training passes: ``cpu_threads``, or with 0 one thread where at most
    :data:`FEW_CORES` cores are available and torch's current number elsewhere."""
    if cpu_threads:
        return cpu_threads
    if available_cores is None:
        available_cores = machine_cpus()
    return 1 if available_cores <= FEW_CORES else torch.get_num_threads()


@contextmanager
def cpu_threads_for(device: torch.device, cpu_threads: int) -> Iterator[None]:
    """torch's CPU threads for a whole run on ``device``: ``cpu_threads`` when set, else unchanged; the
    training passes inside pick theirs (:func:`training_pass_threads`). Restored afterwards; a GPU run
    leaves them as they are."""
    if device.type != "cpu":
        yield
        return
    with _threads(cpu_threads or torch.get_num_threads()):
        logger.info("CPU threads: %d for the training passes, %d for evaluation (cpu_threads %d)",
                    training_threads(cpu_threads), torch.get_num_threads(), cpu_threads,
                    extra={"parameters": ("cpu_threads",)})
        yield


@contextmanager
def training_pass_threads(device: torch.device, cpu_threads: int) -> Iterator[None]:
    """torch's CPU threads for one training pass on ``device`` (:func:`training_threads`), restored
    afterwards, so that validation keeps the run's threads; a GPU run leaves them as they are."""
    with _threads(training_threads(cpu_threads) if device.type == "cpu" else torch.get_num_threads()):
        yield


@contextmanager
def _threads(threads: int) -> Iterator[None]:
    """torch's CPU threads set to ``threads`` inside, the previous number restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
