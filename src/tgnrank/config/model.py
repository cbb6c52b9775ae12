"""The model section: every hyperparameter of the TGN model, declared once (imports no torch)."""

from __future__ import annotations

from dataclasses import dataclass

from tgnrank.config.params import Boolean, Interval, Options, Section, setting
from tgnrank.errors import ConfigError

EMBEDDING_MODULES = ("graph_attention", "graph_sum", "identity", "time")
MESSAGE_FUNCTIONS = ("identity", "mlp")
MEMORY_UPDATERS = ("gru", "rnn")
AGGREGATORS = ("last", "mean")
LINK_PREDICTORS = ("mlp", "pairwise")

_POSITIVE = Interval(int, 1)


@dataclass(frozen=True)
class ModelConfig(Section):
    """TGN hyperparameters, named and defaulted as the flags of the original ``train_self_supervised.py``.

    Dimensions:

    * The embedding dimension (what the embedding module outputs and the link predictor scores) is
      ``memory_dim`` with ``use_memory`` and ``node_dim`` without. The original TGN used the node
      feature dimension and added the memory to the raw features, so it crashed inside the first
      batch unless ``memory_dim`` equalled the feature dimension. Here node features whose dimension
      differs from the embedding dimension go through a learned linear projection to it; features of
      exactly that dimension are used raw, as in TGN; a dataset without node features (0 columns)
      uses zeros.
    * ``time_dim`` is the size of the time encoding (the original ignored the flag and used the
      feature dimension). The attention query is ``[embedding, time encoding]``, so ``n_head`` must
      divide ``embedding dimension + time_dim`` (272 with the defaults and memory, 200 without).
    * The raw message is ``[memory_src, memory_dst, edge_features, time_encoding(t - last_update_src)]``;
      with ``message_function="identity"`` it is the message, with ``"mlp"`` it is mapped to
      ``message_dim``.

    Variants: Jodie is ``use_memory=True, embedding_module="time"`` (with ``memory_updater="rnn"`` in
    the paper), DyRep is ``use_memory=True, dyrep=True, use_destination_embedding_in_message=True``
    (``memory_updater="rnn"`` in the paper), TGAT is ``use_memory=False``; see :meth:`preset`.
    ``dyrep`` scores the memory itself instead of the embedding module's output, as TGN's flag does.

    ``link_predictor pairwise`` builds a :class:`~tgnrank.model.pairwise_tgn.PairwiseTGN`, whose
    predictor also reads the pair's temporal walk encoding (``walk_dim`` random projections, half-life
    ``walk_decay_days``).
    """

    TITLE = "model"

    n_layer: int = setting(1, Interval(int, 0), "graph layers")
    n_head: int = setting(2, _POSITIVE, "attention heads")
    drop_out: float = setting(0.1, Interval(float, 0.0, 1.0, closed="left"), "dropout probability")
    node_dim: int = setting(100, _POSITIVE, "node embedding size (the embedding size without memory)")
    time_dim: int = setting(100, _POSITIVE, "time encoding size")
    use_memory: bool = setting(False, Boolean(), "give every node a memory (TGN; without it: TGAT)")
    embedding_module: str = setting("graph_attention", Options(EMBEDDING_MODULES),
                                    "embedding module ('time' gives Jodie)")
    message_function: str = setting("identity", Options(MESSAGE_FUNCTIONS), "message function")
    memory_updater: str = setting("gru", Options(MEMORY_UPDATERS), "memory updater")
    aggregator: str = setting("last", Options(AGGREGATORS), "message aggregator")
    memory_update_at_end: bool = setting(False, Boolean(),
                                         "update the memory at the end of the batch instead of the start")
    message_dim: int = setting(100, _POSITIVE, "message size")
    memory_dim: int = setting(172, _POSITIVE, "memory size per node (the embedding size with memory)")
    use_destination_embedding_in_message: bool = setting(False, Boolean(),
                                                         "use the destination's embedding in messages")
    use_source_embedding_in_message: bool = setting(False, Boolean(), "use the source's embedding in messages")
    dyrep: bool = setting(False, Boolean(), "run the DyRep variant")
    link_predictor: str = setting("mlp", Options(LINK_PREDICTORS),
                                  "scorer of a (company, investor) pair: TGN's 'mlp' or 'pairwise' features")
    walk_dim: int = setting(512, _POSITIVE,
                            "random projections per walk length of the pairwise scorer: more is less noise, "
                            "more memory (4 x walk_dim floats per node)")
    walk_decay_days: float = setting(365.0, Interval(float, 0.0, closed="neither"),
                                     "time decay of the pairwise scorer's walks, in days, > 0")
    path_counts: bool = setting(False, Boolean(),
                                "also feed the pairwise scorer the pair's exact company-investor-company-investor "
                                "path count before the prediction's time")
    path_walks: bool = setting(True, Boolean(),
                               "with --path_counts, also feed the 3- and 5-step random-walk probabilities from the "
                               "company to the investor over the distinct links before the batch")

    @property
    def embedding_dim(self) -> int:
        return self.memory_dim if self.use_memory else self.node_dim

    @property
    def attention_query_dim(self) -> int:
        return self.embedding_dim + self.time_dim

    def check_rules(self) -> None:
        """Raise ``ConfigError`` naming the settings for any combination the model cannot be built with."""
        if self.embedding_module == "graph_attention" and self.attention_query_dim % self.n_head:
            size = "memory_dim" if self.use_memory else "node_dim"
            raise ConfigError(
                f"n_head {self.n_head} must divide the attention query size {size} + time_dim = "
                f"{self.embedding_dim} + {self.time_dim} = {self.attention_query_dim}; choose another n_head or "
                f"time_dim", parameters=("n_head", size, "time_dim"),
            )
        if self.path_counts and self.link_predictor != "pairwise":
            raise ConfigError("path_counts feeds the pairwise scorer, so it needs link_predictor pairwise",
                              parameters=("path_counts", "link_predictor"))
        if not self.use_memory:
            if self.dyrep:
                raise ConfigError("dyrep scores the memory, so it needs use_memory", parameters=("dyrep", "use_memory"))
            if self.embedding_module == "time":
                raise ConfigError("embedding_module time projects the memory through time, so it needs use_memory",
                                  parameters=("embedding_module", "use_memory"))

    @classmethod
    def preset(cls, variant: str, **overrides) -> "ModelConfig":
        """The configuration of a named variant: ``tgn``, ``jodie``, ``dyrep`` or ``tgat``."""
        presets = {
            "tgn": dict(use_memory=True),
            "jodie": dict(use_memory=True, embedding_module="time", memory_updater="rnn"),
            "dyrep": dict(
                use_memory=True, dyrep=True, use_destination_embedding_in_message=True, memory_updater="rnn"
            ),
            "tgat": dict(use_memory=False, n_layer=2),
        }
        if variant not in presets:
            raise ConfigError(f"unknown model variant {variant!r}; expected one of {sorted(presets)}")
        return cls(**{**presets[variant], **overrides})
