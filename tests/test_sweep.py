"""`tgnrank sweep`: the Optuna search on a tiny synthetic dataset (outputs, seeding, pruning), the search
space's checks against the settings' declarations, and the message when Optuna is missing."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import sys

import pytest

pytest.importorskip("optuna")

import optuna  # noqa: E402
import torch  # noqa: E402

from tgnrank.cli.main import build_parser, main  # noqa: E402
from tgnrank.cli.train import config_from_args  # noqa: E402
from tgnrank.data import save_dataset  # noqa: E402
from tgnrank.data.synthetic import generate_synthetic  # noqa: E402
from tgnrank.errors import ConfigError  # noqa: E402
from tgnrank.eval.diagnostic import DiagnosticOptions  # noqa: E402
from tgnrank.experiments.search_space import load_space, parse_space, preset_space_path  # noqa: E402
from tgnrank.experiments.sweep import EXTRA_HINT, SweepSettings, TrialReporter, run_sweep, train_command  # noqa: E402
from tgnrank.train.config import TrainConfig  # noqa: E402
from tgnrank.train.records import EpochRecord  # noqa: E402

TINY = dict(bs=200, memory_dim=16, node_dim=16, time_dim=8, message_dim=16, n_degree=5)
TINY_FLAGS = [part for name, value in TINY.items() for part in (f"--{name}", str(value))]
SPACE = '[lr]\nlow = 1e-4\nhigh = 1e-2\nlog = true\n\n[loss]\nchoices = ["bce", "softmax"]\n'


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    save_dataset(generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small"), root / "data")
    (root / "space.toml").write_text(SPACE)
    return root


@pytest.fixture(scope="module")
def swept(dataset):
    """One three-trial sweep from the command line (one epoch each, no pruning): (storage, printed)."""
    storage = dataset / "cli"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["sweep", "--data", "small", "--data_dir", str(dataset / "data"), "--space",
                     str(dataset / "space.toml"), "--trials", "3", "--pruner", "none", "--n_epoch", "1",
                     "--baselines", "popularity", "--storage", str(storage), *TINY_FLAGS])
    assert code == 0
    return storage, printed.getvalue()


def _settings(dataset, storage, n_trials: int, n_epoch: int) -> SweepSettings:
    base = TrainConfig(data="small", data_dir=str(dataset / "data"), n_epoch=n_epoch, **TINY)
    return SweepSettings(base=base, space=load_space(dataset / "space.toml"), n_trials=n_trials,
                         storage=storage, pruner="none", options=DiagnosticOptions(baselines=("popularity",)))


def test_sweep_json_holds_every_trial_and_the_best_as_a_train_command(swept):
    storage, printed = swept
    results = json.loads((storage / "sweep.json").read_text())
    assert [trial["number"] for trial in results["trials"]] == [0, 1, 2]
    for trial in results["trials"]:
        assert trial["state"] == "complete" and set(trial["params"]) == {"lr", "loss"}
        assert 1e-4 <= trial["params"]["lr"] <= 1e-2 and trial["params"]["loss"] in ("bce", "softmax")
        assert len(trial["values"]) == 1 and trial["value"] == trial["values"][0]
        assert (storage / trial["checkpoint"]).is_file()
    best = results["best"]
    assert best["value"] == max(trial["value"] for trial in results["trials"])
    assert best["command"] in printed
    config = config_from_args(build_parser().parse_args(shlex.split(best["command"])[1:]))
    assert config.lr == best["params"]["lr"] and config.loss == best["params"]["loss"]
    assert (config.memory_dim, config.n_epoch, config.data) == (16, 1, "small")


def test_best_trial_is_diagnosed_on_the_test_window_beside_the_baselines(swept):
    storage, _ = swept
    diagnostic = json.loads((storage / "sweep.json").read_text())["test_diagnostic"]
    assert diagnostic["model"] == "best-trial" and diagnostic["baselines"] == ["random", "popularity"]
    assert set(diagnostic["metrics"]) == {"best-trial", "random", "popularity"}
    assert 0.0 <= diagnostic["metrics"]["best-trial"]["mrr"] <= 1.0


def test_reports_show_every_trial_and_embed_the_figure(swept):
    storage, _ = swept
    results = json.loads((storage / "sweep.json").read_text())
    markdown = (storage / "sweep.md").read_text()
    page = (storage / "sweep.html").read_text()
    for trial in results["trials"]:
        assert f"| {trial['number']} | complete |" in markdown
    assert results["best"]["command"] in markdown
    assert "data:image/png;base64," in page and 'src="sweep.png"' not in page
    assert (storage / "sweep.png").read_bytes().startswith(b"\x89PNG")


def test_the_same_seed_gives_the_same_trials(dataset, swept):
    storage, _ = swept
    first = json.loads((storage / "sweep.json").read_text())["trials"][:2]
    again = run_sweep(_settings(dataset, dataset / "again", n_trials=2, n_epoch=1), torch.device("cpu"))["trials"]
    assert [(t["params"], t["values"]) for t in again] == [(t["params"], t["values"]) for t in first]


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial) -> bool:
        return True


def test_a_pruned_trial_stops_after_the_epoch_it_was_pruned_at(dataset):
    storage = dataset / "pruned"
    results = run_sweep(_settings(dataset, storage, n_trials=2, n_epoch=2), torch.device("cpu"), pruner=AlwaysPrune())
    assert [trial["state"] for trial in results["trials"]] == ["pruned", "pruned"]
    assert [len(trial["values"]) for trial in results["trials"]] == [1, 1]  # of two epochs
    assert results["best"] is None and results["test_diagnostic"] is None
    assert json.loads((storage / "sweep.json").read_text())["trials"] == results["trials"]


def test_the_reporter_raises_trial_pruned_when_the_pruner_says_so():
    class Trial:
        reported: list = []

        def report(self, value, step):
            self.reported.append((step, value))

        def should_prune(self):
            return len(self.reported) > 1

    reporter = TrialReporter(Trial(), "recall@1000", optuna.TrialPruned)
    reporter.on_epoch_end(_record(0, recall=0.4))
    with pytest.raises(optuna.TrialPruned, match="after epoch 1"):
        reporter.on_epoch_end(_record(1, recall=0.3))
    assert reporter.values == [0.4, 0.3] and Trial.reported == [(0, 0.4), (1, 0.3)]


def _record(epoch: int, recall: float) -> EpochRecord:
    return EpochRecord(run=0, epoch=epoch, train_loss=0.5, val_ap=0.5, val_auc=0.5, new_node_val_ap=0.5,
                       new_node_val_auc=0.5, epoch_time=1.0, total_epoch_time=1.0, events_per_second=1.0,
                       val_mrr=0.1, val_recall_at_1000=recall)


@pytest.mark.parametrize("text, named", [
    ("[learning_rate]\nlow = 0.1\nhigh = 0.2\n", "unknown setting 'learning_rate'"),
    ("[lr]\nlow = -1.0\nhigh = 0.1\n", "'[lr]': low = -1.0 is outside lr's range"),
    ("[hard_neg_ratio]\nlow = 0.5\nhigh = 1.5\n", "'[hard_neg_ratio]': high = 1.5 is outside hard_neg_ratio's range"),
    ("[n_neg]\nlow = 1.5\nhigh = 4\n", "'[n_neg]': low = 1.5 is outside n_neg's range: it must be an integer"),
    ('[loss]\nchoices = ["bce", "hinge"]\n', "'[loss]': choice 'hinge' is outside loss's range"),
    ("[lr]\nlow = 0.01\nhigh = 0.001\n", "'[lr]': low must be < high"),
    ("[drop_out]\nlow = 0.0\nhigh = 0.5\nlog = true\n", "'[drop_out]': log = true needs low > 0"),
    ("[lr]\nlo = 0.1\nhigh = 0.2\n", "'[lr]': unknown key(s) ['lo']"),
    ("[seed]\nlow = 0\nhigh = 5\n", "'[seed]': seed is set by the sweep itself"),
    ('[neg_sampling]\nlow = 0\nhigh = 1\n', "'[neg_sampling]': neg_sampling is not numeric"),
])
def test_a_bad_space_fails_naming_the_file_and_the_setting(tmp_path, text, named):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_space(path)
    assert named in str(error.value) and str(path) in str(error.value)


def test_the_command_line_refuses_a_bad_space_before_training(dataset, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[lr]\nlow = 0.0\nhigh = 0.1\n")
    assert main(["sweep", "--data", "small", "--data_dir", str(dataset / "data"), "--space", str(path),
                 "--storage", str(tmp_path / "out")]) == 2
    assert "'[lr]': low = 0.0 is outside --lr's range" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_shipped_ranking_space_is_valid_and_found_inside_the_package():
    space = load_space(preset_space_path("ranking"))
    assert {"lr", "loss", "n_neg", "softmax_temperature"} <= set(space.names)
    assert space.to_dict()["lr"] == {"low": 1e-5, "high": 1e-3, "log": True}
    assert parse_space(space.to_dict(), "again").to_dict() == space.to_dict()


def test_train_command_reproduces_the_configuration():
    config = TrainConfig(data="small", lr=0.000123456789, loss="focal", use_hard_negatives=True, n_neg=3,
                         use_memory=True, prefix="trial007", **TINY)
    parsed = config_from_args(build_parser().parse_args(shlex.split(train_command(config))[1:]))
    assert parsed.fingerprint() == config.fingerprint() and parsed.run.prefix == ""


def test_without_optuna_the_sweep_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)  # makes `import optuna` raise ImportError
    assert main(["sweep", "--trials", "1"]) == 2
    assert EXTRA_HINT in capsys.readouterr().err
