"""Train TGN with self-supervised link prediction (the flags of TGN's train_self_supervised.py).

Writes saved_models/{prefix}-{data}.pth (the final checkpoint), saved_checkpoints/{prefix}-{data}-{epoch}.pth
(the best and the last epoch), results/{prefix}-{data}.json and results/{prefix}.pkl, and
logs/{prefix}-{data}-{time}.log.
With an empty --prefix the files are named after the dataset alone (saved_models/{data}.pth, ...).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from tgnrank.sampling.curriculum import CURRICULA
from tgnrank.train.config import (
    AGGREGATORS,
    EMBEDDING_MODULES,
    HARD_NEG_SIMILARITIES,
    MEMORY_UPDATERS,
    MESSAGE_FUNCTIONS,
    TrainConfig,
)

HELP = "train TGN (self-supervised link prediction), with focal loss and hard negatives as options"

_DEFAULTS = TrainConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = _DEFAULTS
    data = parser.add_argument_group("data and files")
    data.add_argument("-d", "--data", default=d.data,
                      help="dataset name: data/ml_{data}.* (default %(default)s; TGN's default was wikipedia; "
                           "'synthetic' is generated on first use)")
    data.add_argument("--data_dir", default=d.data_dir, help="folder holding the ml_ files (default %(default)s)")
    data.add_argument("--prefix", default=d.prefix,
                      help="prefix of the output files: saved_models/{prefix}-{data}.pth (default empty: {data}.pth)")
    data.add_argument("--keep_epoch_checkpoints", action="store_true",
                      help="keep every epoch's checkpoint in saved_checkpoints/ as TGN did (default: only the best "
                           "and the last epoch, since each holds the whole memory)")
    data.add_argument("--different_new_nodes", action="store_true",
                      help="use disjoint sets of new nodes for validation and test")
    data.add_argument("--randomize_features", action="store_true",
                      help="replace node features with uniform noise (drawn from --seed)")

    training = parser.add_argument_group("training")
    training.add_argument("--bs", type=int, default=d.bs, help="batch size (default %(default)s)")
    training.add_argument("--n_epoch", type=int, default=d.n_epoch, help="number of epochs (default %(default)s)")
    training.add_argument("--lr", type=float, default=d.lr, help="learning rate (default %(default)s)")
    training.add_argument("--patience", type=int, default=d.patience,
                          help="epochs without validation-AP improvement before stopping (default %(default)s)")
    training.add_argument("--n_runs", type=int, default=d.n_runs,
                          help="independent runs with seeds seed, seed+1, ...; reports mean and std "
                               "(default %(default)s)")
    training.add_argument("--backprop_every", type=int, default=d.backprop_every,
                          help="backpropagate every this many batches (default %(default)s)")
    training.add_argument("--gpu", type=int, default=d.gpu,
                          help="CUDA device index, used when CUDA is available; -1 forces the CPU "
                               "(default %(default)s)")
    training.add_argument("--seed", type=int, default=d.seed,
                          help="seed of torch, numpy and the samplers; run k uses seed+k (default %(default)s)")
    training.add_argument("--wandb", action="store_true",
                          help="log to Weights & Biases (needs the wandb package; offline unless WANDB_MODE=online)")

    model = parser.add_argument_group("model")
    model.add_argument("--n_degree", type=int, default=d.n_degree,
                       help="temporal neighbours sampled (default %(default)s)")
    model.add_argument("--n_head", type=int, default=d.n_head, help="attention heads (default %(default)s)")
    model.add_argument("--n_layer", type=int, default=d.n_layer, help="graph layers (default %(default)s)")
    model.add_argument("--drop_out", type=float, default=d.drop_out, help="dropout probability (default %(default)s)")
    model.add_argument("--node_dim", type=int, default=d.node_dim, help="node embedding size (default %(default)s)")
    model.add_argument("--time_dim", type=int, default=d.time_dim, help="time encoding size (default %(default)s)")
    model.add_argument("--uniform", action="store_true",
                       help="sample temporal neighbours uniformly, not the most recent")
    model.add_argument("--use_memory", action="store_true", help="give every node a memory (TGN; without it: TGAT)")
    model.add_argument("--embedding_module", default=d.embedding_module, choices=EMBEDDING_MODULES,
                       help="embedding module (default %(default)s; 'time' gives Jodie)")
    model.add_argument("--message_function", default=d.message_function, choices=MESSAGE_FUNCTIONS,
                       help="message function (default %(default)s)")
    model.add_argument("--memory_updater", default=d.memory_updater, choices=MEMORY_UPDATERS,
                       help="memory updater (default %(default)s)")
    model.add_argument("--aggregator", default=d.aggregator,
                       help=f"message aggregator: {', '.join(AGGREGATORS)} (default %(default)s)")
    model.add_argument("--memory_update_at_end", action="store_true",
                       help="update the memory at the end of the batch instead of the start")
    model.add_argument("--message_dim", type=int, default=d.message_dim, help="message size (default %(default)s)")
    model.add_argument("--memory_dim", type=int, default=d.memory_dim,
                       help="memory size per node (default %(default)s)")
    model.add_argument("--use_destination_embedding_in_message", action="store_true",
                       help="use the destination's embedding in messages")
    model.add_argument("--use_source_embedding_in_message", action="store_true",
                       help="use the source's embedding in messages")
    model.add_argument("--dyrep", action="store_true", help="run the DyRep variant")

    loss = parser.add_argument_group("loss")
    loss.add_argument("--use_focal_loss", action="store_true", help="focal loss instead of binary cross-entropy")
    loss.add_argument("--focal_alpha", type=float, default=d.focal_alpha,
                      help="focal loss weight of the positive class, in [0, 1] (default %(default)s)")
    loss.add_argument("--focal_gamma", type=float, default=d.focal_gamma,
                      help="focal loss focusing parameter, >= 0; 0 gives weighted BCE (default %(default)s)")

    negatives = parser.add_argument_group("negatives")
    negatives.add_argument("--use_hard_negatives", action="store_true",
                           help="draw part of the negatives among investors similar to the true one")
    negatives.add_argument("--hard_neg_ratio", type=float, default=d.hard_neg_ratio,
                           help="share of hard negatives, in [0, 1] (default %(default)s)")
    negatives.add_argument("--hard_neg_temperature", type=float, default=d.hard_neg_temperature,
                           help="softmax temperature over similarities, > 0; lower is harder (default %(default)s)")
    negatives.add_argument("--hard_neg_topk", type=int, default=d.hard_neg_topk,
                           help="most similar investors considered per investor (default %(default)s)")
    negatives.add_argument("--n_neg", type=int, default=d.n_neg, help="negatives per positive (default %(default)s)")
    negatives.add_argument("--hard_neg_curriculum", default=d.hard_neg_curriculum, choices=CURRICULA,
                           help="schedule of the hard share: 'linear' uses hard_neg_ratio * min(1, (epoch + 1) / "
                                "curriculum_epochs) at epoch 0, 1, ... (needs --use_hard_negatives; "
                                "default %(default)s)")
    negatives.add_argument("--curriculum_epochs", type=int, default=d.curriculum_epochs,
                           help="epochs for the linear curriculum to reach --hard_neg_ratio (default %(default)s)")
    negatives.add_argument("--multihop_neg_ratio", type=float, default=d.multihop_neg_ratio,
                           help="share of negatives drawn among investors at distance 3 from the company in the "
                                "training graph (co-investors of its investors never linked to it), weighted by "
                                "path count; hard + multi-hop shares <= 1, the rest random (default %(default)s)")
    negatives.add_argument("--multihop_topk", type=int, default=d.multihop_topk,
                           help="distance-3 investors kept per company, by path count (default %(default)s)")
    negatives.add_argument("--hard_neg_similarity", default=d.hard_neg_similarity, choices=HARD_NEG_SIMILARITIES,
                           help="similarity of hard negatives: raw node 'features', or 'memory': from epoch 1 on, "
                                "cosine of the investors' memory after the previous epoch's training pass "
                                "(needs --use_memory and --use_hard_negatives; default %(default)s)")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The validated TrainConfig of parsed arguments (ConfigError names a bad flag)."""
    return TrainConfig(**{field.name: getattr(args, field.name) for field in fields(TrainConfig)})


def run(args: argparse.Namespace) -> int:
    import logging

    from tgnrank.train.device import select_device
    from tgnrank.train.loop import TrainingInterrupted, train_runs
    from tgnrank.train.outputs import RunPaths, attach_log_file
    from tgnrank.train.tracking import CallbackList, WandbCallbacks

    config = config_from_args(args)
    config.model_config()  # the model's own checks, before any file is touched
    paths = RunPaths(config.prefix, config.data)
    progress = ProgressBar()
    callbacks = [progress]
    if config.wandb:
        callbacks.append(WandbCallbacks(config.run_name))
    log_path = paths.log_path()
    handler = attach_log_file(log_path)
    logging.getLogger(__name__).info("Logging to %s", log_path)
    try:
        summary = train_runs(config, select_device(config.gpu), paths, CallbackList(callbacks))
    except TrainingInterrupted as stop:
        print(f"{stop}", file=sys.stderr)
        return 130
    finally:
        progress.close()
        logging.getLogger().removeHandler(handler)
        handler.close()
    _print_summary(summary)
    return 0


class ProgressBar:
    """A tqdm bar per epoch over the training events, showing the loss and events per second."""

    def __init__(self) -> None:
        self.bar = None
        self.run = 0

    def on_run_start(self, run, config) -> None:
        self.run = run

    def on_epoch_start(self, epoch: int, n_events: int) -> None:
        from tqdm import tqdm

        # Redirected to a file, a bar redrawn ten times a second would fill the log: update it rarely.
        refresh_seconds = 0.1 if sys.stderr.isatty() else 30.0
        self.bar = tqdm(
            total=n_events, desc=f"run {self.run} epoch {epoch}", unit="ev", leave=False, file=sys.stderr,
            mininterval=refresh_seconds,
        )

    def on_batch_end(self, epoch: int, n_events_done: int, loss: float) -> None:
        self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        self.bar.update(n_events_done - self.bar.n)
        if n_events_done >= self.bar.total:
            self.bar.close()

    def on_epoch_end(self, record) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def on_run_end(self, result) -> None:
        pass


def _print_summary(summary) -> None:
    for result in summary.runs:
        print(
            f"run {result.run} (seed {result.seed}): best epoch {result.best_epoch}, "
            f"test AP {result.test_ap:.4f} AUC {result.test_auc:.4f}, "
            f"new-node test AP {result.new_node_test_ap:.4f} AUC {result.new_node_test_auc:.4f} -> {result.model_path}"
        )
    if len(summary.runs) > 1:
        for name, label in (("test_ap", "test AP"), ("test_auc", "test AUC"),
                            ("new_node_test_ap", "new-node test AP"), ("new_node_test_auc", "new-node test AUC")):
            mean, std = summary.mean_std(name)
            print(f"{label}: {mean:.4f} ± {std:.4f} over {len(summary.runs)} runs")
    print(f"results: {summary.results_path}")
