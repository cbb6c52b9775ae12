"""The command-line entry points set OMP_WAIT_POLICY before torch loads OpenMP; the library does not.

Each check runs a real entry point in a fresh interpreter: one that spies on the first ``import torch``
(the variable must already be set then), and one where GNU OpenMP reports, as it loads, the settings
it read (``OMP_DISPLAY_ENV``): a passive policy means a spin count of 0.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tgnrank.openmp import apply_wait_policy

ROOT = Path(__file__).resolve().parents[1]
# A command that imports torch, then stops at once because the dataset does not exist.
FAILING_TRAIN = ["train", "--data", "no_such_dataset"]
SPY = """
import os, sys
class TorchImportSpy:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            print("policy when torch loads:", os.environ.get("OMP_WAIT_POLICY"), flush=True)
        return None
sys.meta_path.insert(0, TorchImportSpy())
"""


def environment(**overrides) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("OMP_WAIT_POLICY", "OMP_DISPLAY_ENV")}
    return {**env, **overrides}


def run(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def spin_count(stderr: str) -> str:
    """GNU OpenMP's GOMP_SPINCOUNT as it reported it on loading (skips under another OpenMP runtime)."""
    lines = [line for line in stderr.splitlines() if "GOMP_SPINCOUNT" in line]
    if not lines:
        pytest.skip("the OpenMP runtime loaded by torch does not report GOMP_SPINCOUNT")
    return lines[0].split("=")[1].strip().strip("'")


def test_the_policy_is_set_before_torch_is_imported_by_the_cli(tmp_path):
    code = SPY + f"from tgnrank.cli.main import main\nsys.exit(main({FAILING_TRAIN!r}))"
    result = run([sys.executable, "-c", code], tmp_path, environment())
    assert result.returncode == 2, result.stderr
    assert "policy when torch loads: PASSIVE" in result.stdout


def test_openmp_waits_passively_under_the_console_entry_point(tmp_path):
    result = run([sys.executable, "-m", "tgnrank.cli.main", *FAILING_TRAIN], tmp_path,
                 environment(OMP_DISPLAY_ENV="VERBOSE"))
    assert result.returncode == 2 and "no_such_dataset" in result.stderr
    assert spin_count(result.stderr) == "0"


@pytest.mark.parametrize("script", ["train_self_supervised.py", "hard_negative_mining.py"])
def test_openmp_waits_passively_under_the_root_scripts(tmp_path, script):
    result = run([sys.executable, str(ROOT / script), "--data", "no_such_dataset"], tmp_path,
                 environment(OMP_DISPLAY_ENV="VERBOSE"))
    assert result.returncode == 2 and "no_such_dataset" in result.stderr
    assert spin_count(result.stderr) == "0"


def test_a_policy_the_user_exported_wins(tmp_path):
    result = run([sys.executable, "-m", "tgnrank.cli.main", *FAILING_TRAIN], tmp_path,
                 environment(OMP_DISPLAY_ENV="VERBOSE", OMP_WAIT_POLICY="ACTIVE"))
    assert result.returncode == 2
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in result.stderr and spin_count(result.stderr) != "0"


def test_without_the_entry_point_openmp_keeps_its_default(tmp_path):
    result = run([sys.executable, "-c", "import tgnrank.sampling.negatives"], tmp_path,
                 environment(OMP_DISPLAY_ENV="VERBOSE"))
    assert result.returncode == 0, result.stderr
    assert spin_count(result.stderr) != "0"


def test_apply_wait_policy_keeps_the_users_value_and_says_if_it_is_too_late():
    mine = {"OMP_WAIT_POLICY": "ACTIVE"}
    apply_wait_policy(mine)
    assert mine == {"OMP_WAIT_POLICY": "ACTIVE"}
    unset = {}
    assert apply_wait_policy(unset) is ("torch" not in sys.modules)
    assert unset == {"OMP_WAIT_POLICY": "PASSIVE"}
