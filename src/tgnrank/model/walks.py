"""Time-decayed temporal walk counts between node pairs, kept by random feature propagation (after TPNet).

The quantity. Events are fed in chronological batches by :meth:`TemporalWalks.update`. A *temporal
walk* of length k from node x is a sequence of events e_1, ..., e_k, each sharing a node with the next
(x = n_0 -e_1- n_1 -e_2- ... -e_k- n_k), such that every event was fed in a strictly earlier batch than
the one before it: the walk starts at x with its newest event and goes back in time. Read at time t,
its weight is the product of its events' weights 0.5 ** ((t - s_j) / half_life), s_j the event's
time. ``W_k(t)[x, y]`` is the summed weight of the temporal walks of length k from x to y
(``W_0 = I``); repeated events count as many times as they occur. With ``E_b(t)`` the symmetric
matrix of batch b's events weighted as above, ``W_k(t) = sum over b_1 > ... > b_k of
E_b1(t) ... E_bk(t)``: a product of decayed adjacency matrices.

Events of one batch never chain into one walk, so that events at one timestamp (a syndicate, a
batch) never see each other, exactly as TGN's memory is updated after the batch is scored. With
batches of one timestamp each this is the usual strictly time-respecting walk.

The pair encoding of (c, i) at t has one entry per term (a, b) of :data:`PAIR_TERMS`:
``sum_x W_a(t)[c, x] W_b(t)[i, x]``, the walks of length a + b between c and i that meet at a node x
reached going back in time a steps from c and b steps from i; (1, 0) and (0, 1) count the direct
events, (3, 0) the walks c -> i' -> c' -> i with times decreasing from c, (0, 3) decreasing from i,
(2, 1) and (1, 2) the walks whose oldest event is in the middle. Only odd lengths join a company to
an investor in a bipartite graph, so even ones are left out.

Random feature propagation. Each node keeps ``h_0 = P[x]``, a fixed Gaussian vector with entries of
variance 1 / walk_dim (zero for the padding row 0), and ``h_k[x] ~ W_k[x] P`` for k = 1..3: an event
(u, v) at time s adds ``h_{k-1}[v]`` (as of s) to ``h_k[u]`` and symmetrically, which extends every
walk from v by the new event. The encoding entry is then ``<h_a[c], h_b[i]>``, an unbiased estimate
of the exact count with variance ``(|W_a[c]|^2 |W_b[i]|^2 + exact^2) / walk_dim``.

Decay, exact and stable over any time span: all walks of length k lose weight at k times the event
rate, so each row stores ``h_k`` as of its own reference time (the end of the last batch that
touched it) and is multiplied by ``0.5 ** (k * elapsed / half_life)`` (a factor <= 1, computed in
float64) when it is read or written; rows that no batch touches cost nothing.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tgnrank.errors import ConfigError
from tgnrank.model.state_tensors import load_checked_state

MAX_WALK_LENGTH = 3
PAIR_TERMS = ((1, 0), (0, 1), (3, 0), (2, 1), (1, 2), (0, 3))
N_PAIR_FEATURES = len(PAIR_TERMS)
STATE_KEYS = ("walks", "reference_time")


@dataclass(frozen=True)
class WalkConfig:
    """``walk_dim`` random-projection size, ``decay_days`` half-life of an event's weight, ``seed`` of P."""

    walk_dim: int = 512
    decay_days: float = 365.0
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.walk_dim, bool) or int(self.walk_dim) != self.walk_dim or self.walk_dim < 1:
            raise ConfigError(f"walk_dim must be an integer >= 1, got {self.walk_dim!r}", parameters=("walk_dim",))
        if not math.isfinite(float(self.decay_days)) or float(self.decay_days) <= 0:
            raise ConfigError(
                f"walk_decay_days must be a finite number of days > 0, got {self.decay_days!r}",
                parameters=("walk_decay_days",),
            )


@dataclass(frozen=True)
class WalkBackup:
    """Detached copies of the walk state (see :meth:`TemporalWalks.backup`)."""

    tensors: dict


class TemporalWalks(nn.Module):
    """Propagated walk vectors of ``n_rows`` nodes (row 0 is padding).

    ``base (n_rows, d)`` is P (a persistent buffer: it is part of the model's ``state_dict`` and is
    never redrawn); ``walks (3, n_rows, d)`` holds h_1..h_3 as of ``reference_time (n_rows,)`` float64
    (-inf: never touched). Both are non-persistent, like the node memory: checkpoints take them from
    :meth:`state_tensors`. Node ids and times may be numpy arrays or tensors.
    """

    def __init__(self, n_rows: int, config: WalkConfig):
        super().__init__()
        self.config = config
        generator = torch.Generator().manual_seed(int(config.seed))
        base = torch.randn(n_rows, config.walk_dim, generator=generator) / math.sqrt(config.walk_dim)
        base[0] = 0
        self.register_buffer("base", base)
        self.register_buffer("walks", torch.zeros(MAX_WALK_LENGTH, n_rows, config.walk_dim), persistent=False)
        self.register_buffer("reference_time", torch.full((n_rows,), -math.inf, dtype=torch.float64), persistent=False)
        lengths = torch.arange(1, MAX_WALK_LENGTH + 1, dtype=torch.float64)
        self.register_buffer("rates", lengths[:, None] / float(config.decay_days), persistent=False)
        self._spare_backup: dict | None = None

    # ----------------------------------------------------------------- reading

    def node_vectors(self, nodes, times) -> torch.Tensor:
        """``(4, N, d)``: h_0..h_3 of ``nodes (N,)`` decayed to ``times`` (N,) or a scalar.

        Raises ValueError if a time is earlier than a node's last update: the state cannot go back.
        """
        nodes = self._ids(nodes)
        times = torch.as_tensor(times, dtype=torch.float64, device=self.base.device).expand(nodes.shape)
        reference = self.reference_time.index_select(0, nodes)
        if bool((times < reference).any()):
            raise ValueError(
                "walk encodings read at a time earlier than the last batch that updated a node; "
                "feed events in chronological order and read at or after the last batch's time"
            )
        decayed = self.walks.index_select(1, nodes) * self._decay(times - reference)
        return torch.cat([self.base.index_select(0, nodes).unsqueeze(0), decayed])

    def pair_features(self, first, second, times) -> torch.Tensor:
        """``(N, N_PAIR_FEATURES)`` encodings of the pairs (first[n], second[n]) at ``times``, raw counts."""
        left, right = self.node_vectors(first, times), self.node_vectors(second, times)
        return torch.stack([(left[a] * right[b]).sum(-1) for a, b in PAIR_TERMS], dim=-1)

    # ----------------------------------------------------------------- writing

    @torch.no_grad()
    def update(self, sources, destinations, times) -> None:
        """Feed one batch of events ``(B,)`` (times not before any earlier batch's): see the module notes."""
        sources, destinations = self._ids(sources), self._ids(destinations)
        times = torch.as_tensor(times, dtype=torch.float64, device=self.base.device)
        if sources.numel() == 0:
            return
        nodes = torch.cat([sources, destinations])
        others = torch.cat([destinations, sources])
        event_times = torch.cat([times, times])
        batch_time = event_times.max()
        # h_{k-1} of the other endpoint as of each event, from the state before this batch.
        previous = self.node_vectors(others, event_times)[:MAX_WALK_LENGTH]
        # ... brought to the batch's reference time, where walks of length k decay at k times the rate.
        added = previous * self._decay(batch_time - event_times)
        touched = torch.unique(nodes)
        elapsed = batch_time - self.reference_time.index_select(0, touched)
        self.walks.index_copy_(1, touched, self.walks.index_select(1, touched) * self._decay(elapsed))
        self.reference_time.index_fill_(0, touched, batch_time)
        self.walks.index_add_(1, nodes, added)

    # ----------------------------------------------------------------- state

    @torch.no_grad()
    def reset(self) -> None:
        """No walks at all (start of an epoch); P is kept. In place, as :meth:`restore`."""
        self.walks.zero_()
        self.reference_time.fill_(-math.inf)

    @torch.no_grad()
    def backup(self) -> WalkBackup:
        """A copy of the state. The tensors of the last backup that was dropped are reused: a fresh
        tensor of the walks' size costs its page faults, and the per-epoch validation backs up four
        times."""
        spare, self._spare_backup = self._spare_backup, None
        state = {key: getattr(self, key) for key in STATE_KEYS}
        if spare is None or any(spare[key].shape != value.shape or spare[key].device != value.device
                                for key, value in state.items()):
            tensors = {key: value.clone() for key, value in state.items()}
        else:
            tensors = {key: spare[key].copy_(value) for key, value in state.items()}
        backup = WalkBackup(tensors)
        weakref.finalize(backup, self._keep_spare, tensors)
        return backup

    def _keep_spare(self, tensors: dict) -> None:
        self._spare_backup = tensors

    @torch.no_grad()
    def restore(self, backup: WalkBackup) -> None:
        """The state of ``backup``, copied into the tensors in place: a fresh tensor of this size costs
        its page faults (a clone of the real export's 91 MB took 6x the time of the copy)."""
        for key in STATE_KEYS:
            getattr(self, key).copy_(backup.tensors[key])

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """CPU copies of the dynamic state (P lives in the model's ``state_dict``), for checkpoints."""
        return {key: getattr(self, key).cpu().clone() for key in STATE_KEYS}

    def load_state_tensors(self, state: dict) -> None:
        """Inverse of :meth:`state_tensors`; shapes must match."""
        load_checked_state(self, state, STATE_KEYS, "walk state", "walk_dim")

    # ----------------------------------------------------------------- helpers

    def _ids(self, nodes) -> torch.Tensor:
        if isinstance(nodes, np.ndarray):
            nodes = np.asarray(nodes, dtype=np.int64)
        return torch.as_tensor(nodes, dtype=torch.int64, device=self.base.device).reshape(-1)

    def _decay(self, elapsed: torch.Tensor) -> torch.Tensor:
        """``(3, N, 1)`` float32 factors 0.5 ** (k * elapsed / half_life) for k = 1..3, ``elapsed (N,)`` >= 0."""
        return torch.exp2(-self.rates * elapsed[None, :]).float().unsqueeze(-1)


def pair_feature_block(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """``(R, C, N_PAIR_FEATURES)`` encodings of every pair of ``left (4, R, d)`` x ``right (4, C, d)``
    node vectors (as from :meth:`TemporalWalks.node_vectors`): one (R, d) @ (d, C) product per term."""
    return torch.stack([left[a] @ right[b].T for a, b in PAIR_TERMS], dim=-1)


def signed_log1p(values: torch.Tensor) -> torch.Tensor:
    """sign(x) * log(1 + |x|): compresses counts that span orders of magnitude, keeps the estimates' sign."""
    return torch.sign(values) * torch.log1p(values.abs())
