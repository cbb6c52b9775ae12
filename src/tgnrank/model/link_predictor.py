"""TGN's MergeLayer, ``fc2(relu(fc1([a, b])))``, the link predictor built on it and its pairwise variant.

Because ``fc1`` is linear in the concatenation, ``fc1([a, b]) = A a + B b + bias``: the link predictor
can project every source and every destination once and score any set of pairs from those
projections, without ever building a ``(pairs, 2 * dim)`` tensor.
"""

from __future__ import annotations

import torch
from torch import nn

from tgnrank.model.walks import signed_log1p


class MergeLayer(nn.Module):
    """``(N, dim1)`` and ``(N, dim2)`` -> ``(N, dim4)`` through a hidden layer of ``dim3`` (Xavier-normal init)."""

    def __init__(self, dim1: int, dim2: int, dim3: int, dim4: int):
        super().__init__()
        self.fc1 = nn.Linear(dim1 + dim2, dim3)
        self.fc2 = nn.Linear(dim3, dim4)
        nn.init.xavier_normal_(self.fc1.weight)
        nn.init.xavier_normal_(self.fc2.weight)

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(torch.cat([first, second], dim=-1))))


class LinkPredictor(MergeLayer):
    """Logit of an interaction between a source and a destination embedding, both ``(N, dim)`` -> ``(N,)``."""

    def __init__(self, dim: int):
        super().__init__(dim, dim, dim, 1)
        self.dim = dim

    def forward(self, sources: torch.Tensor, destinations: torch.Tensor) -> torch.Tensor:
        return super().forward(sources, destinations).squeeze(-1)

    def project_sources(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``(N, dim) -> (N, dim)``: the source half of ``fc1``, bias included."""
        return embeddings @ self.fc1.weight[:, : self.dim].T + self.fc1.bias

    def project_destinations(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``(M, dim) -> (M, dim)``: the destination half of ``fc1`` (no bias)."""
        return embeddings @ self.fc1.weight[:, self.dim :].T

    def score_projected(self, projected_sources: torch.Tensor, projected_destinations: torch.Tensor) -> torch.Tensor:
        """Logits ``(P,)`` of pairs given row-aligned projections ``(P, dim)`` and ``(P, dim)``."""
        return self.fc2(torch.relu(projected_sources + projected_destinations)).squeeze(-1)


class PairwiseLinkPredictor(nn.Module):
    """Logit of a pair from its two embeddings ``(N, dim)`` and its raw walk encoding ``(N, n_pair)``.

    ``fc2(relu(fc1([source, destination, signed_log1p(pair)])))``; as with :class:`LinkPredictor`,
    ``fc1`` splits into a source, a destination and a pair part, so a scorer projects each node once
    and adds a per-pair term of ``n_pair`` inputs (see :mod:`tgnrank.model.pairwise_scoring`).
    """

    def __init__(self, dim: int, n_pair: int):
        super().__init__()
        self.dim, self.n_pair = dim, n_pair
        self.fc1 = nn.Linear(2 * dim + n_pair, dim)
        self.fc2 = nn.Linear(dim, 1)
        nn.init.xavier_normal_(self.fc1.weight)
        nn.init.xavier_normal_(self.fc2.weight)

    def forward(self, sources: torch.Tensor, destinations: torch.Tensor, pair: torch.Tensor) -> torch.Tensor:
        inputs = torch.cat([sources, destinations, signed_log1p(pair)], dim=-1)
        return self.fc2(torch.relu(self.fc1(inputs))).squeeze(-1)

    def project_sources(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``(N, dim) -> (N, dim)``: the source part of ``fc1``, bias included."""
        return embeddings @ self.fc1.weight[:, : self.dim].T + self.fc1.bias

    def project_destinations(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``(M, dim) -> (M, dim)``: the destination part of ``fc1`` (no bias)."""
        return embeddings @ self.fc1.weight[:, self.dim : 2 * self.dim].T

    def project_pairs(self, pair: torch.Tensor) -> torch.Tensor:
        """``(..., n_pair) -> (..., dim)``: the pair part of ``fc1`` applied to the raw encodings."""
        return signed_log1p(pair) @ self.fc1.weight[:, 2 * self.dim :].T

    def score_projected(self, projected_sources, projected_destinations, projected_pairs) -> torch.Tensor:
        """Logits ``(P,)`` from row-aligned projections, each ``(P, dim)``."""
        return self.fc2(torch.relu(projected_sources + projected_destinations + projected_pairs)).squeeze(-1)
