"""Running a child Python with this checkout and this backend (shared by the training tests)."""

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def python_env(**extra):
    """The environment for a child Python: this backend, this checkout first on the path."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests" / "training")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.update(extra)
    return env


def run_python(args, timeout=240, **env):
    """Run `python *args` to completion; fail the test with its output if it fails."""
    process = subprocess.run(
        [sys.executable, *map(str, args)], env=python_env(**env), capture_output=True, text=True, timeout=timeout
    )
    assert process.returncode == 0, f"exit {process.returncode}\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    return process.stdout
