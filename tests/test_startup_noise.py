"""`keras_vit_cli.filter_startup_noise`: TensorFlow's start-up lines are dropped from stderr, every other line is
kept, in order; the `keras-vit` command and the recipes run as scripts install it before Keras is imported."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.one_backend("tensorflow")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOISE_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796064830.378443   12791 port.cc:153] oneDNN custom operations are on.",
    "I0000 00:00:1796064830.379378   12791 cudart_stub.cc:31] Could not find cuda drivers on your machine.",
    "E0000 00:00:1796064830.954841   12791 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
    "I0000 00:00:1796064949.413862   13212 cpu_feature_guard.cc:227] This TensorFlow binary is optimized",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow.",
    # XLA's, when the first step compiles
    "I0000 00:00:1796033173.947208   11511 service.cc:153] XLA service 0x7f13bc098f20 initialized for platform Host",
    "I0000 00:00:1796033173.947257   11511 service.cc:161]   StreamExecutor [0]: Host, Default Version",
    "I0000 00:00:1796033180.337617   11511 device_compiler.h:208] Compiled cluster using XLA!  This line is logged",
]


def run_python(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": REPO, **env},
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip


WRITE_NOISE = (
    "import os, keras_vit_cli; keras_vit_cli.filter_startup_noise(); keras_vit_cli.filter_startup_noise(); "
    f"os.write(2, b'first\\n' + {chr(10).join(NOISE_LINES).encode()!r} + b'\\nlast line, no newline')"
)


def test_start_up_lines_are_dropped_and_the_others_kept_in_order():
    process = run_python(WRITE_NOISE)
    assert process.returncode == 0
    assert process.stderr == "first\nlast line, no newline"


def test_verbose_startup_keeps_every_line():
    process = run_python(WRITE_NOISE, KERAS_VIT_VERBOSE_STARTUP="1")
    assert process.stderr.splitlines() == ["first", *NOISE_LINES, "last line, no newline"]


def test_a_recipe_run_as_a_script_prints_no_start_up_lines():
    process = subprocess.run(
        [sys.executable, os.path.join(REPO, "recipes", "fashion_mnist_vit.py"), "--help"],
        env={**os.environ, "PYTHONPATH": REPO, "KERAS_BACKEND": "tensorflow"},
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert process.returncode == 0 and "usage:" in process.stdout
    assert not [line for line in process.stderr.splitlines() if any(line[:40] in noise for noise in NOISE_LINES)]
    assert "cuInit" not in process.stderr and "oneDNN" not in process.stderr
