"""Every hyperparameter of the TGN model, validated once, before any tensor is built."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from tgnrank.errors import ConfigError

EMBEDDING_MODULES = ("graph_attention", "graph_sum", "identity", "time")
MESSAGE_FUNCTIONS = ("identity", "mlp")
MEMORY_UPDATERS = ("gru", "rnn")
AGGREGATORS = ("last", "mean")


@dataclass
class ModelConfig:
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
    """

    n_layer: int = 1
    n_head: int = 2
    drop_out: float = 0.1
    node_dim: int = 100
    time_dim: int = 100
    use_memory: bool = False
    embedding_module: str = "graph_attention"
    message_function: str = "identity"
    memory_updater: str = "gru"
    aggregator: str = "last"
    memory_update_at_end: bool = False
    message_dim: int = 100
    memory_dim: int = 172
    use_destination_embedding_in_message: bool = False
    use_source_embedding_in_message: bool = False
    dyrep: bool = False

    def __post_init__(self) -> None:
        self.validate()

    @property
    def embedding_dim(self) -> int:
        return self.memory_dim if self.use_memory else self.node_dim

    @property
    def attention_query_dim(self) -> int:
        return self.embedding_dim + self.time_dim

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the flag for any setting the model cannot be built with."""
        _check_choice("--embedding_module", self.embedding_module, EMBEDDING_MODULES)
        _check_choice("--message_function", self.message_function, MESSAGE_FUNCTIONS)
        _check_choice("--memory_updater", self.memory_updater, MEMORY_UPDATERS)
        _check_choice("--aggregator", self.aggregator, AGGREGATORS)
        _check_integer("--n_layer", self.n_layer, minimum=0)
        for flag, value in (
            ("--n_head", self.n_head),
            ("--node_dim", self.node_dim),
            ("--time_dim", self.time_dim),
            ("--message_dim", self.message_dim),
            ("--memory_dim", self.memory_dim),
        ):
            _check_integer(flag, value, minimum=1)
        if not 0.0 <= float(self.drop_out) < 1.0:
            raise ConfigError(f"--drop_out must lie in [0, 1), got {self.drop_out}")
        if self.embedding_module == "graph_attention" and self.attention_query_dim % self.n_head:
            size_flag = "--memory_dim" if self.use_memory else "--node_dim"
            raise ConfigError(
                f"--n_head {self.n_head} must divide the attention query size {size_flag} + --time_dim = "
                f"{self.embedding_dim} + {self.time_dim} = {self.attention_query_dim}; "
                f"choose another --n_head or --time_dim"
            )
        if not self.use_memory:
            if self.dyrep:
                raise ConfigError("--dyrep scores the memory, so it needs --use_memory")
            if self.embedding_module == "time":
                raise ConfigError("--embedding_module time projects the memory through time, so it needs --use_memory")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        """Build from a dict holding these fields (and possibly others, e.g. a whole run configuration,
        which are ignored); missing fields take their defaults."""
        names = {field.name for field in fields(cls)}
        return cls(**{name: value for name, value in values.items() if name in names})

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


def _check_choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{flag} must be one of {list(choices)}, got {value!r}")


def _check_integer(flag: str, value, minimum: int) -> None:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ConfigError(f"{flag} must be an integer >= {minimum}, got {value!r}")
