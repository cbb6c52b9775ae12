"""cli/spelling: library errors name settings, the command line shows them as the flags a user typed."""

from __future__ import annotations

import argparse
import logging
import pickle
import subprocess
import sys

import pytest

from tgnrank.cli.main import run_command
from tgnrank.cli.spelling import FlagSpelling, as_flags, flag_spelling, spell_as_flags
from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.errors import ConfigError, DataFormatError


def test_named_parameters_become_flags_and_nothing_else_does():
    message = "n_degree must be an integer >= 1 for embedding_module graph_sum, got 0 (degree n_degree_x)"
    assert spell_as_flags(message, ("n_degree", "embedding_module")) == (
        "--n_degree must be an integer >= 1 for --embedding_module graph_sum, got 0 (degree n_degree_x)"
    )


def test_quoted_values_are_left_alone_but_possessives_are_not_quotes():
    assert spell_as_flags("name must be a stem, got 'my name'", ("name",)) == "--name must be a stem, got 'my name'"
    assert spell_as_flags('window must be val, got "window"', ("window",)) == '--window must be val, got "window"'
    assert spell_as_flags("outside lr's range, got 'x'", ("lr",)) == "outside --lr's range, got 'x'"


def test_a_message_already_in_flags_is_unchanged_and_renamed_flags_are_used():
    assert spell_as_flags("--lr must be > 0", ("lr",)) == "--lr must be > 0"
    assert spell_as_flags("n_trials must be >= 1, got 0", ("n_trials",)) == "--trials must be >= 1, got 0"
    assert spell_as_flags("hard_neg_ratio + multihop_neg_ratio", ("hard_neg_ratio", "multihop_neg_ratio")) == (
        "--hard_neg_ratio + --multihop_neg_ratio"
    )


def test_the_context_manager_re_raises_in_flags_keeping_the_parameters():
    with pytest.raises(ConfigError, match="^--bs must be") as raised:
        with flag_spelling():
            raise ConfigError("bs must be an integer >= 1, got 0", parameters=("bs",))
    assert raised.value.parameters == ("bs",)


def test_parameters_survive_pickling():
    error = pickle.loads(pickle.dumps(ConfigError("seed must be >= 0", parameters=("seed",))))
    assert (str(error), error.parameters) == ("seed must be >= 0", ("seed",))
    assert str(as_flags(error)) == "--seed must be >= 0"


def test_the_command_line_prints_library_errors_with_flags(capsys):
    def failing(args):
        raise ConfigError("n_degree must be an integer >= 1 for embedding_module time, got 0",
                          parameters=("n_degree", "embedding_module"))

    assert run_command(failing, argparse.Namespace(), prog="tgnrank train") == 2
    assert capsys.readouterr().err == (
        "tgnrank train: error: --n_degree must be an integer >= 1 for --embedding_module time, got 0\n"
    )


def test_other_user_errors_keep_their_class_and_errors_without_parameters_are_kept_as_they_are():
    error = DataFormatError("state.json: pass restart", parameters=("restart",))
    shown = as_flags(error)
    assert type(shown) is DataFormatError and str(shown) == "state.json: pass --restart"
    plain = ConfigError("window must be one of val, test")
    assert as_flags(plain) is plain


def test_converted_library_errors_are_bare_in_the_library_and_flags_on_the_command_line(tmp_path, monkeypatch, capsys):
    import torch

    from tgnrank.cli.main import main
    from tgnrank.train.config import TrainConfig
    from tgnrank.train.device import select_device

    monkeypatch.chdir(tmp_path)  # train writes its log under the current directory
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ConfigError, match=r"^gpu must be in 0\.\.1 .*, got 5$") as raised:
        select_device(5)
    assert raised.value.parameters == ("gpu",)
    with pytest.raises(ConfigError, match="^hard_neg_similarity memory .* needs use_hard_negatives and use_memory$"):
        TrainConfig(hard_neg_similarity="memory")

    assert main(["train", "-d", "absent", "--gpu", "5"]) == 2
    assert "error: --gpu must be in 0..1 (CUDA devices visible) or -1 for the CPU, got 5" in capsys.readouterr().err
    assert main(["train", "--hard_neg_similarity", "memory"]) == 2
    assert capsys.readouterr().err.endswith(
        "error: --hard_neg_similarity memory compares investors by their memory, so it needs --use_hard_negatives "
        "and --use_memory\n"
    )


def test_library_log_lines_name_the_setting_bare_and_list_it(caplog):
    from tgnrank.train.device import select_device

    with caplog.at_level(logging.INFO, logger="tgnrank.train.device"):
        select_device(-1)
    (record,) = caplog.records
    assert (record.getMessage(), record.parameters) == ("Using the CPU (gpu -1)", ("gpu",))


def test_the_command_line_formatter_spells_the_format_string_but_not_its_values_nor_the_record():
    record = logging.makeLogRecord({"msg": "restart: discarding the runs recorded in %s", "args": ("runs/restart",),
                                    "levelname": "INFO", "parameters": ("restart",)})
    formatter = FlagSpelling(logging.Formatter("%(levelname)s %(message)s"))
    assert formatter.format(record) == "INFO --restart: discarding the runs recorded in runs/restart"
    assert record.getMessage() == "restart: discarding the runs recorded in runs/restart"
    plain = logging.makeLogRecord({"msg": "restart the run %s", "args": ("now",), "levelname": "INFO"})
    assert formatter.format(plain) == "INFO restart the run now"


def test_the_command_line_prints_library_log_lines_with_flags(tmp_path):
    save_dataset(generate_synthetic(n_companies=60, n_investors=30, seed=1, name="tiny"), tmp_path / "data")
    command = [sys.executable, "-m", "tgnrank.cli.main", "train", "--data", "tiny", "--gpu", "-1",
               "--n_epoch", "1", "--bs", "100", "--n_degree", "2", "--node_dim", "8", "--time_dim", "8",
               "--val_rank_companies", "10"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Using the CPU (--gpu -1)" in done.stderr
    assert "(--val_rank_companies 10)" in done.stderr
    (log_file,) = (tmp_path / "logs").glob("tiny-*.log")
    assert "Using the CPU (--gpu -1)" in log_file.read_text(encoding="utf-8")
