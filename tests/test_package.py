import os
import subprocess
import sys

import tgnrank


def _policy_after_import(env):
    code = "import os, tgnrank; print(os.environ['OMP_WAIT_POLICY'])"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_openmp_threads_wait_passively_unless_the_user_chose():
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    assert _policy_after_import(env) == "PASSIVE"
    assert _policy_after_import({**env, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"


def test_version_is_exposed():
    assert tgnrank.__version__.count(".") == 2
