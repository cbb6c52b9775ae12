"""`tgnrank mine` / `python hard_negative_mining.py` end to end on a tiny dataset."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tgnrank.sampling.negatives as negatives
from tgnrank.cli.main import main, standalone_main
from tgnrank.data import save_dataset
from tgnrank.data.synthetic import generate_synthetic

ROOT = Path(__file__).resolve().parents[1]
N_CHECKS = 5


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("data")
    save_dataset(generate_synthetic(n_companies=300, n_investors=120, seed=1, name="tiny"), directory)
    return directory


def run_mine(data_dir, *extra):
    argv = ["--data", "tiny", "--data_dir", str(data_dir), "--n_positives", "400", "--n_examples", "2", *extra]
    return standalone_main("tgnrank.cli.mine", prog="hard_negative_mining.py", argv=argv)


def test_self_test_passes_and_prints_every_section(data_dir, capsys):
    assert run_mine(data_dir) == 0
    out = capsys.readouterr().out
    assert "(a) Examples" in out and "(b) Similarity" in out and "(c) Checks" in out
    assert out.count("  PASS  ") == N_CHECKS and "FAIL" not in out
    assert "Company " in out and "Investor " in out  # examples name the nodes
    for temperature in ("T=1 ", "T=0.5 ", "T=0.1 ", "T=0.01 "):
        assert f"hard, {temperature}" in out
    assert "All checks passed." in out


def test_hard_negatives_are_more_similar_in_the_table(data_dir, capsys):
    run_mine(data_dir)
    table = {line.split("  ")[1].strip(): float(line.split()[-3]) for line in capsys.readouterr().out.splitlines()
             if line.startswith("  random ") or line.startswith("  hard, T=")}
    assert table["hard, T=0.01"] > table["hard, T=1"] > table["random"]


def test_a_broken_sampler_fails_and_exits_non_zero(data_dir, capsys, monkeypatch):
    def returns_the_true_investor(self, sources, destinations, n_neg=1):
        repeated = np.repeat(np.asarray(destinations), n_neg)
        return repeated if n_neg == 1 else repeated.reshape(len(destinations), n_neg)

    monkeypatch.setattr(negatives.BatchedHardNegativeSampler, "sample", returns_the_true_investor)
    assert run_mine(data_dir) == 1
    out = capsys.readouterr().out
    assert "  FAIL  no negative linked to its company" in out
    assert "check(s) FAILED" in out


def test_tgnrank_mine_subcommand(data_dir, capsys):
    assert main(["mine", "--data", "tiny", "--data_dir", str(data_dir), "--n_positives", "200"]) == 0
    assert "All checks passed." in capsys.readouterr().out


@pytest.mark.parametrize("flag, value", [("--hard_neg_ratio", "1.5"), ("--hard_neg_topk", "0"),
                                         ("--hard_neg_temperature", "0"), ("--n_positives", "0")])
def test_invalid_flags_exit_2_naming_the_flag(data_dir, capsys, flag, value):
    assert run_mine(data_dir, flag, value) == 2
    assert flag in capsys.readouterr().err


def test_root_script_runs(data_dir):
    result = subprocess.run(
        [sys.executable, "hard_negative_mining.py", "--data", "tiny", "--data_dir", str(data_dir),
         "--n_positives", "200", "--n_examples", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "All checks passed." in result.stdout
