"""Training: configuration, losses, the TGN training loop, early stopping, checkpoints, devices.

Modules (imported directly, so that importing this package stays free of torch):

* ``config``: ``TrainConfig``, every flag of ``train_self_supervised.py``, validated;
* ``losses``: BCE and focal loss on logits;
* ``early_stopping``: ``EarlyStopping`` (TGN's rule);
* ``checkpoint``: ``save_checkpoint``, ``load_checkpoint``, ``build_model_from_checkpoint``;
* ``device``: ``select_device``;
* ``loop``: ``train_runs``, ``train_run``, ``train_epoch``, ``evaluate_link_prediction``;
* ``outputs``: file names (``RunPaths``) and atomic JSON/pickle writers;
* ``tracking``: optional Weights & Biases logging.
"""
