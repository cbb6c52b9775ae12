import os
import subprocess
import sys

import tgnrank


def test_importing_the_package_leaves_the_openmp_policy_alone():
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    code = "import os, tgnrank, tgnrank.cli.main; print(os.environ.get('OMP_WAIT_POLICY'))"
    printed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == "None"


def test_version_is_exposed():
    assert tgnrank.__version__.count(".") == 2
