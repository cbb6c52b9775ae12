"""TGN's MergeLayer, ``fc2(relu(fc1([a, b])))``, and the link predictor built on it.

Because ``fc1`` is linear in the concatenation, ``fc1([a, b]) = A a + B b + bias``: the link predictor
can project every source and every destination once and score any set of pairs from those
projections, without ever building a ``(pairs, 2 * dim)`` tensor.
"""

from __future__ import annotations

import torch
from torch import nn


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
