"""experiments: errors name settings bare and list them in ``parameters``; the command line shows the flags."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tgnrank.cli.main import main
from tgnrank.cli.spelling import as_flags
from tgnrank.errors import ConfigError, DataFormatError
from tgnrank.experiments.presets import CompareSettings
from tgnrank.experiments.ray_options import ExecutorOptions
from tgnrank.experiments.search_space import load_space, preset_space_path
from tgnrank.experiments.state import STATE_FILE, open_state
from tgnrank.experiments.sweep import SweepSettings
from tgnrank.train.config import TrainConfig


def test_a_ray_flag_without_the_ray_executor_is_bare_in_the_library_and_a_flag_on_the_command_line(
        tmp_path, monkeypatch, capsys):
    with pytest.raises(ConfigError, match="^max_concurrent only apply with executor ray$") as raised:
        ExecutorOptions(max_concurrent=2)
    assert raised.value.parameters == ("max_concurrent", "executor")

    monkeypatch.chdir(tmp_path)
    assert main(["compare", "--data", "absent", "--max_concurrent", "2"]) == 2
    assert capsys.readouterr().err == "tgnrank compare: error: --max_concurrent only apply with --executor ray\n"


def test_a_renamed_flag_is_spelled_as_typed():
    space = load_space(preset_space_path("ranking"))
    with pytest.raises(ConfigError, match="^n_trials must be an integer >= 1, got 0$") as raised:
        SweepSettings(base=TrainConfig(), space=space, n_trials=0, storage="sweep")
    assert raised.value.parameters == ("n_trials",)
    assert str(as_flags(raised.value)) == "--trials must be an integer >= 1, got 0"


def test_a_folder_named_like_a_setting_is_not_spelled_as_a_flag(tmp_path):
    out_dir = tmp_path / "restart"
    out_dir.mkdir()
    (out_dir / STATE_FILE).write_text("{}")
    with pytest.raises(DataFormatError) as raised:
        open_state(CompareSettings(base=TrainConfig(), out_dir=out_dir), dataset={})
    assert raised.value.parameters == ("restart", "out_dir")
    assert str(as_flags(raised.value)) == (
        f"{str(out_dir / STATE_FILE)!r}: is not a tgnrank comparison state; pass --restart or choose another --out"
    )


def test_a_dataset_missing_from_data_dir_is_named_bare_in_the_library_and_by_flags_on_the_command_line(
        tmp_path, monkeypatch, capsys):
    from tgnrank.experiments.ray_storage import stage_dataset

    data_dir, storage = tmp_path / "data", tmp_path / "storage"
    with pytest.raises(FileNotFoundError) as raised:
        stage_dataset("absent", data_dir, storage)
    assert str(raised.value) == (
        f"dataset 'absent' not found in {str(data_dir)!r} (data_dir), so it cannot be copied to "
        f"storage {str(storage)!r}"
    )
    assert raised.value.parameters == ("data_dir", "storage")

    monkeypatch.chdir(tmp_path)
    assert main(["compare", "--data", "absent", "--data_dir", "data", "--storage", "storage", "--gpu", "-1"]) == 2
    assert capsys.readouterr().err == (
        f"tgnrank compare: error: dataset 'absent' not found in {str(data_dir)!r} (--data_dir), so it cannot be "
        f"copied to --storage {str(storage)!r}\n"
    )


def test_a_preset_configuration_training_refuses_is_logged_with_the_flag_on_the_command_line(tmp_path):
    # The console handler is the CLI's own only outside pytest, which holds the root logger's handlers.
    refusing = ("import sys; import tgnrank.train.runs as runs; "
                "runs.NOT_YET_IMPLEMENTED = {'neg_sampling': ('uniform',)}; "
                "from tgnrank.cli.main import main; sys.exit(main(sys.argv[1:]))")
    command = [sys.executable, "-c", refusing, "compare", "--preset", "ranking", "--data", "absent", "--gpu", "-1"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2  # the dataset is missing, which is found after the preset's note
    note = "--preset ranking: left out 'degree' (--neg_sampling degree is not implemented by training yet)"
    assert note in done.stderr.splitlines()
