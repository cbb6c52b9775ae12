"""The TGN model: configuration, memory, messages, embedding modules, link predictor."""

from tgnrank.model.config import ModelConfig
from tgnrank.model.tgn import TGN, build_model

__all__ = ["TGN", "ModelConfig", "build_model"]
