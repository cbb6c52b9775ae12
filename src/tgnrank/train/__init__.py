"""Training: configuration, losses, the TGN training loop, early stopping, checkpoints, devices.

Modules (imported directly, so that importing this package stays free of torch):

* ``config``: ``TrainConfig``, the declared sections of every flag of ``train_self_supervised.py``;
* ``losses``: BCE and focal loss on logits;
* ``early_stopping``: ``EarlyStopping`` (TGN's rule);
* ``checkpoint``: ``save_checkpoint``, ``load_checkpoint``, ``build_model_from_checkpoint``;
* ``device``: ``select_device``;
* ``training_data``: ``load_training_data`` (the dataset and its split), ``set_seeds``;
* ``steps``: ``train_epoch``, one pass over the training events;
* ``epochs``: the epoch loop of one run (negatives, training, validation, epoch checkpoints);
* ``resume``: the ``.resume.pt`` beside each epoch checkpoint and continuing a run from it (``--resume``);
* ``evaluation``: TGN's AP/AUC on the validation and test events;
* ``runs``: ``train_runs``, ``train_run`` (seeds, best epoch, test, results files);
* ``records``: ``EpochRecord``, ``RunResult``, ``TrainingCallbacks``; ``logs``: the log lines;
* ``outputs``: file names (``RunPaths``) and atomic JSON/pickle writers;
* ``tracking``: optional Weights & Biases logging.
"""
