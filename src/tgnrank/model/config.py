"""The model's configuration: declared with every other setting in :mod:`tgnrank.config.model`."""

from tgnrank.config.model import AGGREGATORS, EMBEDDING_MODULES, MEMORY_UPDATERS, MESSAGE_FUNCTIONS, ModelConfig

__all__ = ["AGGREGATORS", "EMBEDDING_MODULES", "MEMORY_UPDATERS", "MESSAGE_FUNCTIONS", "ModelConfig"]
