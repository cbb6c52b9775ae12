"""The `train_self_supervised.py` / `tgnrank train` command line: flags, defaults, validation, end to end."""

import argparse

import pytest

from tgnrank.cli import train as train_cli
from tgnrank.errors import ConfigError
from tgnrank.train.config import TrainConfig

TGN_DEFAULTS = {
    "bs": 200, "prefix": "", "n_degree": 10, "n_head": 2, "n_epoch": 50, "n_layer": 1, "lr": 0.0001,
    "patience": 5, "n_runs": 1, "drop_out": 0.1, "gpu": 0, "node_dim": 100, "time_dim": 100,
    "backprop_every": 1, "use_memory": False, "embedding_module": "graph_attention",
    "message_function": "identity", "memory_updater": "gru", "aggregator": "last",
    "memory_update_at_end": False, "message_dim": 100, "memory_dim": 172, "different_new_nodes": False,
    "uniform": False, "randomize_features": False, "use_destination_embedding_in_message": False,
    "use_source_embedding_in_message": False, "dyrep": False,
}
OUR_DEFAULTS = {
    "data": "synthetic", "data_dir": "data", "use_focal_loss": False, "focal_alpha": 0.25, "focal_gamma": 2.0,
    "seed": 0, "wandb": False, "use_hard_negatives": False, "hard_neg_ratio": 0.5, "hard_neg_temperature": 0.1,
    "n_neg": 1,
}


def parse(argv):
    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_every_flag_of_the_original_script_with_its_default():
    args = vars(parse([]))
    for name, value in {**TGN_DEFAULTS, **OUR_DEFAULTS}.items():
        assert args[name] == value, name
    assert args["hard_neg_topk"] >= 1
    assert train_cli.config_from_args(parse([])) == TrainConfig()


def test_short_data_flag_and_the_guides_command_parse():
    args = parse(
        "-d crunchbase --use_memory --use_focal_loss --focal_alpha 0.25 --focal_gamma 2.0 --use_hard_negatives "
        "--hard_neg_ratio 0.5 --hard_neg_temperature 0.1 --prefix tgn-focal-hardneg --n_epoch 50".split()
    )
    config = train_cli.config_from_args(args)
    assert (config.data, config.use_memory, config.use_focal_loss, config.use_hard_negatives) == ("crunchbase", True, True, True)
    assert config.run_name == "tgn-focal-hardneg-crunchbase"
    assert TrainConfig().run_name == "synthetic"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--bs", "0"], "--bs must be an integer >= 1"),
        (["--n_epoch", "0"], "--n_epoch must be an integer >= 1"),
        (["--patience", "0"], "--patience must be an integer >= 1"),
        (["--n_degree", "-3"], "--n_degree must be an integer >= 1"),
        (["--backprop_every", "0"], "--backprop_every"),
        (["--lr", "0"], r"--lr must be a finite number in \(0.0, inf\]"),
        (["--lr", "nan"], "--lr"),
        (["--drop_out", "1.0"], r"--drop_out must be a finite number in \[0.0, 1.0\)"),
        (["--focal_alpha", "1.5"], r"--focal_alpha must be a finite number in \[0.0, 1.0\]"),
        (["--focal_gamma", "-1"], "--focal_gamma"),
        (["--hard_neg_ratio", "1.2"], r"--hard_neg_ratio must be a finite number in \[0.0, 1.0\]"),
        (["--hard_neg_temperature", "0"], "--hard_neg_temperature"),
        (["--hard_neg_topk", "0"], "--hard_neg_topk must be an integer >= 1"),
        (["--n_neg", "0"], "--n_neg"),
        (["--seed", "-1"], "--seed"),
        (["--gpu", "-2"], "--gpu"),
        (["--aggregator", "max"], "--aggregator must be one of last, mean"),
        (["--prefix", "../x"], "--prefix names files"),
        (["--data", ""], "--data names files"),
    ],
)
def test_invalid_flags_fail_at_start_up_naming_the_flag(argv, message):
    with pytest.raises(ConfigError, match=message):
        train_cli.config_from_args(parse(argv))


def test_config_round_trips_through_a_dict_and_ignores_extra_keys():
    config = TrainConfig(data="toy", use_memory=True, lr=0.01, hard_neg_topk=7)
    assert TrainConfig.from_dict({**config.to_dict(), "n_node_features": 3, "package_version": "x"}) == config
    assert config.with_seed(5).seed == 5 and config.with_seed(5).lr == 0.01


def test_wandb_flag_without_the_package_fails_with_a_clear_message(monkeypatch):
    import sys

    from tgnrank.train.tracking import import_wandb

    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(ConfigError, match="--wandb needs the wandb package"):
        import_wandb()


def test_hard_negative_top_k_default_is_the_samplers_own():
    from tgnrank.sampling.negatives import DEFAULT_HARD_NEG_TOPK

    assert TrainConfig().hard_neg_topk == DEFAULT_HARD_NEG_TOPK
