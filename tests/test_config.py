"""The settings' declarations: one checker and its message, the flat alias map, flags generated from the
declarations, and checkpoints written by earlier code (the committed fixture) loading and diagnosing."""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tgnrank.cli import train as train_cli
from tgnrank.config.params import Boolean, FileName, Interval, Options, check_value, setting
from tgnrank.config.sections import LossConfig, RunConfig
from tgnrank.errors import ConfigError
from tgnrank.model import ModelConfig
from tgnrank.train.config import FLAT_ALIASES, SECTIONS, TrainConfig, declarations

FIXTURE = Path(__file__).parent / "fixtures" / "checkpoint_v1"


# --- the checker ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "constraint, value, message",
    [
        (Interval(int, 1), 0, "x must be an integer >= 1, got 0"),
        (Interval(int, 1), 2.0, "x must be an integer >= 1, got 2.0"),
        (Interval(int, 1), True, "x must be an integer >= 1, got True"),
        (Interval(int, 0, 9), 10, r"x must be an integer in \[0, 9\], got 10"),
        (Interval(float, 0.0, closed="right"), 0.0, r"x must be a finite number in \(0.0, inf\], got 0.0"),
        (Interval(float, 0.0, 1.0, closed="left"), 1.0, r"x must be a finite number in \[0.0, 1.0\), got 1.0"),
        (Interval(float, 0.0), float("inf"), r"x must be a finite number in \[0.0, inf\], got inf"),
        (Interval(float, 0.0), "1", r"x must be a finite number in \[0.0, inf\], got '1'"),
        (Options(("a", "b")), "c", "x must be one of a, b, got 'c'"),
        (Boolean(), "yes", "x must be True or False, got 'yes'"),
        (FileName(), "../up", r"x names files, so it must be a non-empty string of letters, digits, '_', '-' or "
                              r"'\.', got '../up'"),
    ],
)
def test_one_message_names_the_flag_the_accepted_range_and_the_value(constraint, value, message):
    with pytest.raises(ConfigError, match=f"^{message}$") as raised:
        check_value("x", constraint, value)
    assert raised.value.parameters == ("x",)  # the command line shows it as --x (cli/spelling)


def test_accepted_values_pass_the_checker():
    for constraint, value in ((Interval(int, 1), 3), (Interval(int, 1), np.int64(3)), (Interval(float, 0.0), 2),
                              (Options(("a", "b")), "b"), (Boolean(), False), (FileName(allow_empty=True), "")):
        check_value("x", constraint, value)


def test_model_config_rejects_a_float_or_missing_head_count_naming_the_flag():
    with pytest.raises(ConfigError, match="^n_head must be an integer >= 1, got 2.0$"):
        ModelConfig(n_head=2.0)
    with pytest.raises(ConfigError, match="^n_head must be an integer >= 1, got None$"):
        ModelConfig(n_head=None)
    with pytest.raises(ConfigError, match="walk_decay_days"):
        ModelConfig(walk_decay_days=0.0)


def test_every_setting_declares_a_default_its_constraint_accepts_and_a_help_text():
    for name, (_, default, declaration) in declarations().items():
        assert declaration.constraint.accepts(default), name
        assert declaration.help and "%" not in declaration.help, name


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"loss": "hinge"}, "loss must be one of bce, focal, softmax"),
        ({"softmax_temperature": 0.0}, "softmax_temperature"),
        ({"neg_sampling": "popular"}, "neg_sampling must be one of uniform, degree, recent"),
        ({"neg_degree_power": -0.5}, r"neg_degree_power must be a finite number in \[0.0, inf\]"),
        ({"neg_recent_days": 0}, r"neg_recent_days must be a finite number in \(0.0, inf\]"),
        ({"early_stop_metric": "auc"}, "early_stop_metric must be one of mrr, recall@1000, ap"),
        ({"val_rank_companies": -1}, "val_rank_companies must be an integer >= 0"),
        ({"link_predictor": "dot"}, "link_predictor must be one of mlp, pairwise"),
        ({"walk_dim": 0}, "walk_dim must be an integer >= 1"),
        ({"path_counts": True}, "path_counts feeds the pairwise scorer, so it needs link_predictor pairwise"),
        ({"activity_features": "no"}, "activity_features must be True or False"),
        ({"train_quantile": 1.0}, r"train_quantile must be a finite number in \(0.0, 1.0\)"),
        ({"train_quantile": 0.9, "val_quantile": 0.8}, "0 < train_quantile < val_quantile < 1"),
        ({"loss": "softmax", "use_focal_loss": True}, "loss softmax and use_focal_loss"),
    ],
)
def test_new_settings_are_validated_naming_their_flag(settings, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**settings)


def test_new_settings_defaults():
    config = TrainConfig()
    assert (config.loss, config.softmax_temperature) == ("bce", 1.0)
    assert (config.neg_sampling, config.neg_degree_power, config.neg_recent_days) == ("uniform", 0.75, 365.0)
    assert (config.early_stop_metric, config.val_rank_companies) == ("mrr", 500)
    assert (config.link_predictor, config.walk_dim, config.walk_decay_days) == ("mlp", 512, 365.0)
    assert (config.activity_features, config.train_quantile, config.val_quantile) == (True, 0.70, 0.85)


def test_use_focal_loss_is_the_tgn_spelling_of_the_focal_loss():
    assert TrainConfig(use_focal_loss=True).objective == TrainConfig(loss="focal").objective
    assert TrainConfig(loss="focal").use_focal_loss is True
    focal = TrainConfig(use_focal_loss=True)
    assert focal.replace(use_focal_loss=False).loss == "bce"  # a configuration's override turns it off
    assert LossConfig(loss="softmax").use_focal_loss is False


# --- sections and the alias map --------------------------------------------------------------------------

def test_each_flat_name_maps_to_one_section_field():
    assert FLAT_ALIASES["lr"] == ("optim", "lr") and FLAT_ALIASES["n_head"] == ("model", "n_head")
    assert FLAT_ALIASES["train_quantile"] == ("dataset", "train_quantile")
    assert FLAT_ALIASES["neg_recent_days"] == ("negatives", "neg_recent_days")
    assert FLAT_ALIASES["loss"] == ("objective", "loss")
    n_fields = sum(len(cls.__dataclass_fields__) for cls in SECTIONS.values())
    assert len(FLAT_ALIASES) == n_fields  # no flat name is shared by two sections


def test_flat_names_sections_and_dicts_agree():
    config = TrainConfig(model=ModelConfig(use_memory=True, memory_dim=16), lr=0.01, data="toy")
    assert config.model.memory_dim == 16 and config.memory_dim == 16 and config.optim.lr == config.lr == 0.01
    assert config == TrainConfig(use_memory=True, memory_dim=16, lr=0.01, data="toy")
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.to_sections()["model"]["memory_dim"] == 16
    assert set(config.fingerprint()) == set(config.to_dict()) - {"data_dir", "prefix", "n_runs", "gpu", "seed", "cpu_threads", "wandb",
                                                                 "resume"}
    with pytest.raises(TypeError, match="unknown settings: not_a_flag"):
        TrainConfig(not_a_flag=1)
    with pytest.raises(AttributeError):
        config.not_a_flag  # noqa: B018


def test_the_model_is_built_from_its_own_section(monkeypatch):
    from tgnrank.data.synthetic import generate_synthetic
    from tgnrank.train.model_setup import build_training_model

    received = []
    monkeypatch.setattr("tgnrank.model.build_model", lambda config, *args, **options: received.append(config))
    config = TrainConfig(use_memory=True, memory_dim=16, node_dim=16, time_dim=8, message_dim=16)
    build_training_model(config, generate_synthetic(n_companies=20, n_investors=10, seed=0), None, "cpu")
    assert received == [config.model] and type(received[0]) is ModelConfig


# --- flags generated from the declarations ---------------------------------------------------------------

def _parse(add_arguments, argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_every_setting_is_a_train_flag_with_its_declared_default():
    args = vars(_parse(train_cli.add_arguments, []))
    for name, (_, default, _) in declarations().items():
        assert args[name] == default, name
    config = train_cli.config_from_args(_parse(train_cli.add_arguments, [
        "--loss", "softmax", "--softmax_temperature", "0.5", "--neg_sampling", "recent", "--neg_recent_days", "30",
        "--train_quantile", "0.6", "--val_quantile", "0.8", "--link_predictor", "pairwise", "--activity_features",
    ]))
    assert (config.loss, config.softmax_temperature, config.neg_sampling, config.neg_recent_days) == (
        "softmax", 0.5, "recent", 30.0)
    assert (config.dataset.train_quantile, config.dataset.val_quantile) == (0.6, 0.8)
    assert config.link_predictor == "pairwise" and config.activity_features is True


def test_softmax_with_focal_flag_fails_naming_both_flags():
    with pytest.raises(ConfigError, match="--loss softmax and --use_focal_loss"):
        train_cli.config_from_args(_parse(train_cli.add_arguments, ["--loss", "softmax", "--use_focal_loss"]))


def test_a_newly_declared_setting_becomes_a_flag_of_train_and_compare_without_touching_cli(monkeypatch):
    from tgnrank.cli import compare as compare_cli

    @dataclass(frozen=True)
    class RunWithMore(RunConfig):
        made_up_rounds: int = setting(3, Interval(int, 1), "a setting declared by a later issue")

    monkeypatch.setitem(SECTIONS, "run", RunWithMore)
    for add_arguments in (train_cli.add_arguments, compare_cli.add_arguments):
        assert _parse(add_arguments, []).made_up_rounds == 3
        assert _parse(add_arguments, ["--made_up_rounds", "7"]).made_up_rounds == 7


def test_diagnose_lists_the_model_settings_unset_and_checks_the_new_ones():
    from tgnrank.cli import diagnose as diagnose_cli

    args = _parse(diagnose_cli.add_arguments, [])
    for name in ("n_head", "memory_dim", "n_degree", "uniform", "randomize_features", "link_predictor", "walk_dim"):
        assert getattr(args, name) is None, name
    assert args.train_quantile is None and args.val_quantile is None
    assert "lr" not in diagnose_cli.model_flags() and "activity_features" in diagnose_cli.model_flags()


# --- a checkpoint written by the code before the declarations (commit 777cec2) --------------------------

@pytest.fixture()
def old_run(tmp_path, monkeypatch):
    shutil.copytree(FIXTURE, tmp_path / "run")
    monkeypatch.chdir(tmp_path / "run")
    return tmp_path / "run"


def test_a_version_1_checkpoint_upgrades_with_the_values_it_was_trained_with(old_run):
    from tgnrank.train.checkpoint import load_checkpoint, stored_config

    checkpoint = load_checkpoint(old_run / "old-tiny.pth")
    assert checkpoint["format_version"] == 1 and "train_quantile" not in checkpoint["config"]
    config = stored_config(checkpoint)
    assert (config.dataset.train_quantile, config.dataset.val_quantile) == (0.70, 0.85)
    assert config.loss == "focal" and config.use_focal_loss  # trained with --use_focal_loss
    assert (config.early_stop_metric, config.link_predictor, config.neg_sampling) == ("ap", "mlp", "uniform")
    assert (config.model.memory_dim, config.neighbors.n_degree, config.use_hard_negatives) == (8, 3, True)


def test_a_version_1_checkpoint_diagnoses_as_the_code_that_wrote_it(old_run):
    from tgnrank.cli.main import main

    argv = ["diagnose", "--model_path", "old-tiny.pth", "--auto_detect_params", "--gpu", "-1",
            "--baselines", "popularity", "--out", "out"]
    assert main(argv) == 0
    result = json.loads((old_run / "out" / "diagnostic-old-tiny-test.json").read_text())
    expected = json.loads((old_run / "expected.json").read_text())["diagnostic_test_window_metrics"]
    assert result["scorers"]["old-tiny"]["metrics"] == pytest.approx(expected)
    # without --auto_detect_params, the model flags are checked against the upgraded configuration
    assert main([*argv[:3], "--gpu", "-1", "--use_memory", "--memory_dim", "8", "--node_dim", "8", "--time_dim", "4",
                 "--message_dim", "8", "--n_degree", "3", "--baselines", "popularity", "--out", "out"]) == 0


# --- split quantiles: a training setting, stored, used by the diagnostic ---------------------------------

def test_split_quantiles_are_stored_in_the_checkpoint_and_used_by_diagnose(old_run, capsys):
    from tgnrank.cli.main import main
    from tgnrank.data import open_dataset
    from tgnrank.eval.protocol import window_bounds
    from tgnrank.train.checkpoint import load_checkpoint

    small = ["--memory_dim", "8", "--node_dim", "8", "--time_dim", "4", "--message_dim", "8", "--n_degree", "3"]
    assert main(["train", "-d", "tiny", "--use_memory", "--n_epoch", "1", "--bs", "50", "--gpu", "-1", "--prefix", "q",
                 "--train_quantile", "0.6", "--val_quantile", "0.75", *small]) == 0
    stored = load_checkpoint("saved_models/q-tiny.pth")
    assert stored["format_version"] >= 2  # the quantiles are stored since version 2
    assert (stored["config"]["train_quantile"], stored["config"]["val_quantile"]) == (0.6, 0.75)
    events = open_dataset("tiny", "data").events
    for argv, quantiles in (([], (0.6, 0.75)), (["--train_quantile", "0.7", "--val_quantile", "0.85"], (0.7, 0.85))):
        assert main(["diagnose", "--model_path", "saved_models/q-tiny.pth", "--auto_detect_params", "--gpu", "-1",
                     "--window", "val", "--baselines", "popularity", "--out", "out", *argv]) == 0
        window = json.loads((old_run / "out" / "diagnostic-q-tiny-val.json").read_text())["window"]
        assert (window["t_start"], window["t_end"]) == pytest.approx(window_bounds(events, "val", *quantiles))
