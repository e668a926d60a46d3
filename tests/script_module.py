"""A recipe or benchmark script as a module, for tests to call its functions (each script runs its `main` only
under `__name__ == "__main__"`)."""

import importlib.util
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]


def load_script(relative_path):
    """The script at `relative_path` from the repository root (e.g. "benchmarks/cifar10_gpu.py"), as a module."""
    path = REPO / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
