"""Sampling: the temporal neighbour finder and negative samplers."""
