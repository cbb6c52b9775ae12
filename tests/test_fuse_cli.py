"""``tgnrank fuse`` and ``diagnose --fusion`` end to end on a small synthetic dataset."""

import json

import pytest

from tgnrank.cli.main import main
from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic
from tgnrank.eval.baselines import BASELINES
from tgnrank.eval.pair_features import FEATURE_NAMES
from tgnrank.train.checkpoint import save_checkpoint

from test_diagnose import untrained_checkpoint

FAST_FUSION = ["--fusion_trees", "10", "--fusion_negatives", "30", "--fusion_min_leaf", "5", "--fusion_windows", "2"]


@pytest.fixture(scope="module")
def data():
    return generate_synthetic(n_companies=200, n_investors=80, seed=1, name="small")


def test_fuse_without_a_model_ranks_beside_the_baselines_and_saves_the_booster(data, tmp_path, capsys):
    save_dataset(data, tmp_path / "data")
    code = main(["fuse", "--data", "small", "--data_dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
                 *FAST_FUSION])
    assert code == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "learned fusion (LightGBM lambdarank), fitted on" in printed and "Feature importances" in printed
    # Progress bars: one per fitting window, then one per scorer ranking the test window.
    assert "fitting the fusion (window 1 of 2)" in captured.err and "fitting the fusion (window 2 of 2)" in captured.err
    assert "ranking with fusion" in captured.err
    result = json.loads((tmp_path / "out" / "diagnostic-fusion-baselines-small-test.json").read_text())
    assert result["model"] == "fusion" and set(result["scorers"]) == {"fusion", "random", *BASELINES}
    assert set(result["fusion"]["importances"]) == set(FEATURE_NAMES)
    # Fitted on the validation window, which ends where the test window starts, and the window of the same
    # length half a window earlier (the default fusion_window_step).
    windows = result["fusion"]["windows"]
    assert windows[0]["t_end"] == result["window"]["t_start"] and len(windows) == 2
    length = windows[0]["t_end"] - windows[0]["t_start"]
    assert windows[1]["t_end"] == pytest.approx(windows[0]["t_end"] - 0.5 * length)
    assert windows[1]["t_end"] - windows[1]["t_start"] == pytest.approx(length)
    assert (tmp_path / "out" / "diagnostic-fusion-baselines-small-test.lgb.txt").stat().st_size > 0


def test_diagnose_fusion_with_a_model_adds_its_logit_and_keeps_its_column(data, tmp_path, capsys):
    save_dataset(data, tmp_path / "data")
    path = save_checkpoint(tmp_path / "m.pth", untrained_checkpoint(data))
    code = main(["diagnose", "--data", "small", "--data_dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
                 "--model_path", str(path), "--auto_detect_params", "--fusion", *FAST_FUSION])
    assert code == 0
    capsys.readouterr()
    result = json.loads((tmp_path / "out" / "diagnostic-fusion-m-test.json").read_text())
    assert {"fusion", "m"} <= set(result["scorers"]) and result["members"] == ["m"]
    assert "m_score" in result["fusion"]["importances"]
    assert len(result["fusion"]["windows"]) == 2  # the model's logit is missing on the earlier one


def test_fusion_flags_are_checked_by_their_declaration(data, tmp_path, capsys):
    save_dataset(data, tmp_path / "data")
    code = main(["fuse", "--data", "small", "--data_dir", str(tmp_path / "data"), "--fusion_trees", "0"])
    assert code == 2
    assert "--fusion_trees must be an integer" in capsys.readouterr().err


def test_compare_says_its_fusion_seed_is_each_training_seed_and_the_others_keep_the_declared_help():
    from tgnrank.cli.main import build_parser

    subcommands = build_parser()._subparsers._group_actions[0].choices
    helps = {name: next(action.help for action in subcommands[name]._actions if action.dest == "fusion_seed")
             for name in ("compare", "fuse", "diagnose")}
    assert helps["compare"].startswith("not used by compare") and "--seeds" in helps["compare"]
    assert helps["fuse"] == helps["diagnose"] and helps["fuse"].startswith("seed of the negative draws")
