"""The split quantiles of a diagnostic's window (tgnrank.eval.split_quantiles)."""

import pytest

from tgnrank.errors import ConfigError
from tgnrank.eval.split_quantiles import window_quantiles
from tgnrank.train.config import TrainConfig


def test_without_a_model_the_training_defaults_place_the_window():
    defaults = TrainConfig().dataset
    assert window_quantiles({}) == (defaults.train_quantile, defaults.val_quantile)


def test_the_models_quantiles_unless_given():
    configs = {"a.pth": TrainConfig(train_quantile=0.6, val_quantile=0.8)}
    assert window_quantiles(configs) == (0.6, 0.8)
    assert window_quantiles(configs, val_quantile=0.9) == (0.6, 0.9)


def test_models_that_disagree_need_the_value_given():
    configs = {"a.pth": TrainConfig(train_quantile=0.6), "b.pth": TrainConfig(train_quantile=0.65)}
    with pytest.raises(ConfigError, match=r"different train_quantile \(\[0.6, 0.65\]\); pass train_quantile") as error:
        window_quantiles(configs)
    assert error.value.parameters == ("train_quantile",)
    assert window_quantiles(configs, train_quantile=0.7)[0] == 0.7


def test_the_command_names_the_flag_when_checkpoints_disagree(tmp_path, capsys):
    from test_diagnose import untrained_checkpoint

    from tgnrank.cli.main import main
    from tgnrank.data import save_dataset
    from tgnrank.data.synthetic import generate_synthetic
    from tgnrank.train.checkpoint import save_checkpoint

    data = generate_synthetic(n_companies=60, n_investors=20, seed=1, name="small")
    save_dataset(data, tmp_path / "data")
    paths = [save_checkpoint(tmp_path / f"{name}.pth", untrained_checkpoint(data, train_quantile=quantile))
             for name, quantile in (("a", 0.6), ("b", 0.65))]
    argv = ["diagnose", "--data_dir", str(tmp_path / "data"), "--auto_detect_params", "--out", str(tmp_path),
            "--baselines", "popularity", *(f"--model_path={path}" for path in paths)]
    assert main(argv) == 2
    assert "different --train_quantile ([0.6, 0.65]); pass --train_quantile to choose" in capsys.readouterr().err
    assert main([*argv, "--train_quantile", "0.6"]) == 0
