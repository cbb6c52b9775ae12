"""The Ray executor on a local Ray (2 CPUs) and a tiny synthetic dataset: `tgnrank compare --executor ray`
gives the local executor's metrics for the same seeds and resumes without retraining what finished (also
when the driver died before recording a finished trial); a Ray sweep shares one Optuna study among its
workers and resumes; --storage; the executor's flags and the message when Ray is missing."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys

import pytest
import torch

from tgnrank.cli.main import main
from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.errors import ConfigError
from tgnrank.experiments import compare as compare_module
from tgnrank.experiments.compare import run_comparison
from tgnrank.experiments.presets import GUIDE_CONFIGURATIONS, CompareSettings
from tgnrank.experiments.ray_options import EXTRA_HINT, ExecutorOptions
from tgnrank.experiments.ray_storage import stage_dataset
from tgnrank.experiments.state import STATE_FILE, TRIALS_DIR
from tgnrank.eval.diagnostic import DiagnosticOptions
from tgnrank.train.config import TrainConfig

TINY = dict(n_epoch=1, bs=200, memory_dim=16, node_dim=16, time_dim=8, message_dim=16, n_degree=5)
RAY = ExecutorOptions(executor="ray", max_concurrent=2)


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray-compare")
    save_dataset(generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small"), root / "data")
    return root / "data"


def _settings(data_dir, out, **changes) -> CompareSettings:
    base = TrainConfig(data="small", data_dir=str(data_dir), **TINY)
    return CompareSettings(base=base, seeds=(0,), out_dir=out, configurations=GUIDE_CONFIGURATIONS[1:3],
                           options=DiagnosticOptions(baselines=("popularity",)), **changes)


@pytest.fixture(scope="module")
def both(local_ray, data_dir, tmp_path_factory):
    """The same two-configuration comparison, run locally and on Ray: (local results, ray results, ray folder)."""
    root = tmp_path_factory.mktemp("both")
    local = run_comparison(_settings(data_dir, root / "local"), torch.device("cpu")).to_dict()
    remote = run_comparison(_settings(data_dir, root / "ray"), torch.device("cpu"), executor=RAY).to_dict()
    return local, remote, root / "ray"


def _metrics(results: dict) -> dict:
    return {run["prefix"]: (run["diagnostic"]["metrics"], run["training"]["train_losses"])
            for column in results["configurations"] for run in column["runs"]}


def test_ray_gives_the_same_metrics_as_local_for_the_same_seeds(both):
    local, remote, folder = both
    assert _metrics(remote) == _metrics(local)
    assert remote["ensemble"]["summary"] == local["ensemble"]["summary"]
    assert {name: entry["metrics"] for name, entry in remote["baselines"].items()} == \
        {name: entry["metrics"] for name, entry in local["baselines"].items()}
    for name in ("focal", "hardneg"):
        assert (folder / "saved_models" / f"{name}-small.pth").is_file()
        assert (folder / TRIALS_DIR / f"{name}@0.json").is_file()


def _spy_ray_keys(monkeypatch) -> list:
    """Record the keys each Ray experiment is asked to run (and refuse local training meanwhile)."""
    from tgnrank.experiments import ray_tune

    asked = []
    real = ray_tune.run_trials

    def spy(trainable, keys, *args, **kwargs):
        asked.append(list(keys))
        return real(trainable, keys, *args, **kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("the driver trained a run itself")

    monkeypatch.setattr(ray_tune, "run_trials", spy)
    monkeypatch.setattr(compare_module, "train_entry", refuse)
    return asked


def test_a_rerun_trains_only_the_trial_killed_midway(both, data_dir, tmp_path, monkeypatch):
    _, remote, folder = both
    copy = tmp_path / "ray"
    shutil.copytree(folder, copy)
    state = json.loads((copy / STATE_FILE).read_text())
    del state["runs"]["focal@0"]  # the driver was killed after the trial wrote its record, before it saved
    del state["runs"]["hardneg@0"]  # killed mid-training: no record, no final checkpoint
    (copy / STATE_FILE).write_text(json.dumps(state))
    (copy / TRIALS_DIR / "hardneg@0.json").unlink()
    (copy / "saved_models" / "hardneg-small.pth").unlink()
    asked = _spy_ray_keys(monkeypatch)
    again = run_comparison(_settings(data_dir, copy), torch.device("cpu"), executor=RAY).to_dict()
    assert asked == [["hardneg@0"]] and _metrics(again) == _metrics(remote)
    asked.clear()
    run_comparison(_settings(data_dir, copy), torch.device("cpu"), executor=RAY)
    assert asked == []  # everything finished: no Ray experiment at all


def test_a_trial_record_made_with_other_settings_is_not_reused(both, data_dir, tmp_path, monkeypatch):
    _, _, folder = both
    copy = tmp_path / "ray"
    shutil.copytree(folder, copy)
    (copy / STATE_FILE).unlink()
    record = json.loads((copy / TRIALS_DIR / "focal@0.json").read_text())
    record["training"]["lr"] = 0.5
    (copy / TRIALS_DIR / "focal@0.json").write_text(json.dumps(record))
    trained = []
    monkeypatch.setattr(compare_module, "train_entry", lambda settings, c, seed, *a: trained.append(c.name) or
                        pytest.fail("stop here"))
    with pytest.raises(pytest.fail.Exception):
        run_comparison(_settings(data_dir, copy), torch.device("cpu"))
    assert trained == ["focal"]  # hardneg's record was taken, focal's refused


def test_restart_discards_the_trial_records(both, data_dir, tmp_path, monkeypatch):
    _, _, folder = both
    copy = tmp_path / "ray"
    shutil.copytree(folder, copy)
    monkeypatch.setattr(compare_module, "train_entry", lambda *a: pytest.fail("trained"))
    with pytest.raises(pytest.fail.Exception):
        run_comparison(_settings(data_dir, copy, restart=True), torch.device("cpu"))
    assert not list((copy / TRIALS_DIR).glob("*.json"))


def test_the_command_line_hands_absolute_paths_under_storage(data_dir, tmp_path, monkeypatch):
    handed = {}

    def capture(settings, device, callbacks, progress, executor):
        handed.update(settings=settings, executor=executor)
        raise KeyboardInterrupt

    monkeypatch.setattr(compare_module, "run_comparison", capture)
    monkeypatch.chdir(tmp_path)  # the workers never see this folder: every path handed to them is absolute
    storage = tmp_path / "shared"
    code = main(["compare", "--data", "small", "--data_dir", str(data_dir), "--storage", "shared",
                 "--executor", "ray", "--max_concurrent", "2", "--gpus_per_run", "0.5"])
    assert code == 130
    settings, executor = handed["settings"], handed["executor"]
    assert settings.out_dir == storage / "compare-small"
    assert settings.base.dataset.data_dir == str(storage / "data") and (storage / "data" / "ml_small.csv").is_file()
    assert executor == ExecutorOptions(executor="ray", max_concurrent=2, gpus_per_run=0.5)


def test_staging_copies_the_dataset_once(data_dir, tmp_path):
    staged = stage_dataset("small", data_dir, tmp_path)
    assert staged == tmp_path / "data" and (staged / "ml_small_node.npy").is_file()
    before = (staged / "ml_small.csv").stat().st_ino
    stage_dataset("small", data_dir, tmp_path)
    assert (staged / "ml_small.csv").stat().st_ino == before  # same size and time: not copied again
    with pytest.raises(FileNotFoundError, match="'other' not found") as raised:
        stage_dataset("other", data_dir, tmp_path)
    assert raised.value.parameters == ("data_dir", "storage")


def test_ray_flags_need_the_ray_executor():
    with pytest.raises(ConfigError, match="^max_concurrent only apply with executor ray$") as raised:
        ExecutorOptions(max_concurrent=2)
    assert raised.value.parameters == ("max_concurrent", "executor")
    with pytest.raises(ConfigError, match="executor must be one of local, ray"):
        ExecutorOptions(executor="dask")
    with pytest.raises(ConfigError, match="^threads_per_run only apply with executor ray$"):
        ExecutorOptions(threads_per_run=4)
    assert dataclasses.replace(RAY, gpus_per_run=0.5).device_name == "cuda"


@pytest.mark.parametrize("command", [["compare"], ["sweep", "--trials", "1"]])
def test_without_ray_the_executor_names_the_extra(monkeypatch, capsys, tmp_path, command):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    monkeypatch.chdir(tmp_path)
    code = main([*command, "--executor", "ray", "--data_dir", str(tmp_path)])
    assert code == 2 and EXTRA_HINT in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


SPACE = '[lr]\nlow = 1e-4\nhigh = 1e-2\nlog = true\n\n[loss]\nchoices = ["bce", "softmax"]\n'


def _sweep_settings(data_dir, storage, n_trials: int, **changes):
    from tgnrank.experiments.search_space import parse_space
    from tgnrank.experiments.sweep import SweepSettings

    import tomllib

    base = TrainConfig(data="small", data_dir=str(data_dir), **TINY)
    return SweepSettings(base=base, space=parse_space(tomllib.loads(SPACE), "test space"), n_trials=n_trials,
                         storage=storage, pruner="none", options=DiagnosticOptions(baselines=("popularity",)),
                         **changes)


@pytest.fixture(scope="module")
def ray_swept(local_ray, data_dir, tmp_path_factory):
    from tgnrank.experiments.sweep import run_sweep

    storage = tmp_path_factory.mktemp("ray-sweep")
    return storage, run_sweep(_sweep_settings(data_dir, storage, 2), torch.device("cpu"), executor=RAY)


def test_a_ray_sweep_runs_its_trials_in_one_shared_study(ray_swept):
    storage, results = ray_swept
    trials = results["trials"]
    assert [trial["number"] for trial in trials] == [0, 1] and {t["state"] for t in trials} == {"complete"}
    assert trials[0]["params"] != trials[1]["params"]  # the two workers' samplers are seeded apart
    for trial in trials:
        assert (storage / trial["checkpoint"]).is_file() and len(trial["values"]) == 1
    assert results["best"]["value"] == max(trial["value"] for trial in trials)
    assert set(results["test_diagnostic"]["metrics"]) == {"best-trial", "random", "popularity"}
    assert json.loads((storage / "sweep.json").read_text())["trials"] == trials


def test_a_resumed_sweep_reruns_the_interrupted_trial_only(ray_swept, data_dir, tmp_path, monkeypatch):
    import optuna

    from tgnrank.experiments import sweep as sweep_module
    from tgnrank.experiments.sweep import STUDY_FILE, run_sweep

    storage, results = ray_swept
    copy = tmp_path / "sweep"
    shutil.copytree(storage, copy)
    study = optuna.load_study(study_name=sweep_module.STUDY_NAME, storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(copy / STUDY_FILE))))
    killed = {"lr": 0.001, "loss": "bce"}
    study.add_trial(optuna.trial.create_trial(
        state=optuna.trial.TrialState.RUNNING, params=killed,
        distributions={name: study.trials[0].distributions[name] for name in killed}))  # SIGKILL left it running
    trained = []
    real = sweep_module.train_trial
    monkeypatch.setattr(sweep_module, "train_trial", lambda settings, trial, *a: trained.append(trial.number) or
                        real(settings, trial, *a))
    again = run_sweep(_sweep_settings(data_dir, copy, 3), torch.device("cpu"))
    assert trained == [3]  # the retry; trials 0 and 1 are kept
    assert [trial["state"] for trial in again["trials"]] == ["complete", "complete", "interrupted", "complete"]
    assert again["trials"][3]["params"] == killed and again["trials"][3]["retry_of"] == 2
    assert again["trials"][:2] == results["trials"]
    assert run_sweep(_sweep_settings(data_dir, copy, 3), torch.device("cpu"))["trials"] == again["trials"]
    assert trained == [3]  # nothing left to run


def test_a_sweep_made_with_other_settings_is_refused_unless_restarted(ray_swept, data_dir, tmp_path):
    from tgnrank.experiments.sweep import SweepError, run_sweep

    storage, _ = ray_swept
    copy = tmp_path / "sweep"
    shutil.copytree(storage, copy)
    with pytest.raises(SweepError, match="another metric"):
        run_sweep(_sweep_settings(data_dir, copy, 2, metric="recall@1000"), torch.device("cpu"))
    fresh = run_sweep(_sweep_settings(data_dir, copy, 1, metric="recall@1000", restart=True), torch.device("cpu"))
    assert [trial["number"] for trial in fresh["trials"]] == [0]
