"""Choose the torch device from the ``gpu`` setting."""

from __future__ import annotations

import logging

import torch

from tgnrank.errors import ConfigError

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
