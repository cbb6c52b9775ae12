"""The hand-written backward passes of the attention and the memory updater's own-memory shortcut
against autograd's own, on small tensors."""

import pytest
import torch

from tgnrank.model.embedding import HeadPooling, HeadScores
from tgnrank.model.memory_updater import MemoryUpdater


def test_head_scores_and_pooling_gradients_match_finite_differences():
    torch.manual_seed(0)
    inputs = torch.randn(4, 3, 5, dtype=torch.float64, requires_grad=True)
    vectors = torch.randn(4, 2, 5, dtype=torch.float64, requires_grad=True)
    weights = torch.rand(4, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(HeadScores.apply, (inputs, vectors))
    assert torch.autograd.gradcheck(HeadPooling.apply, (weights, inputs))


def test_head_scores_and_pooling_equal_batched_products():
    inputs, vectors, weights = torch.randn(4, 3, 5), torch.randn(4, 2, 5), torch.rand(4, 3, 2)
    torch.testing.assert_close(HeadScores.apply(inputs, vectors), torch.einsum("qkd,qhd->qkh", inputs, vectors))
    torch.testing.assert_close(HeadPooling.apply(weights, inputs), torch.einsum("qkh,qkd->qhd", weights, inputs))


@pytest.mark.parametrize("kind", ["gru", "rnn"])
def test_forward_own_equals_the_cell_on_messages_that_start_with_the_memory(kind):
    torch.manual_seed(0)
    memory_dim, rest_dim, n_with, n_without = 4, 3, 5, 2
    updater = MemoryUpdater(kind, memory_dim + rest_dim, memory_dim).double()
    memory = torch.randn(n_with, memory_dim, dtype=torch.float64, requires_grad=True)
    rest = torch.randn(n_with + n_without, rest_dim, dtype=torch.float64, requires_grad=True)
    # The rows after the first n_with have a zero memory.
    full_memory = torch.cat([memory, memory.new_zeros(n_without, memory_dim)])
    expected = updater(torch.cat([full_memory, rest], dim=1), full_memory)
    ours = updater.forward_own(rest, memory)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    expected_grads = torch.autograd.grad(expected, [memory, rest, *updater.parameters()], upstream)
    our_grads = torch.autograd.grad(ours, [memory, rest, *updater.parameters()], upstream)
    for ours_grad, expected_grad in zip(our_grads, expected_grads):
        torch.testing.assert_close(ours_grad, expected_grad)
