"""Evaluation: the temporal validation protocol, ranking metrics, baselines and the diagnostic."""
