"""`keras-vit`: an expected error of any subcommand is one line on stderr, `keras-vit <subcommand>: <message>`,
with exit status 1 and no traceback; `--debug` (before or after the subcommand) shows the traceback."""

import os
import subprocess
import sys

import pytest

from keras_vit import cli
from keras_vit.export import cli as export_cli
from keras_vit.export.parity import ParityError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0"], "keras-vit train: --epochs must be a positive int; got 0."),
        (["train", "--batch-size", "-3"], "keras-vit train: --batch-size must be a positive int; got -3."),
        (["export", "absent.keras", "--format", "onnx"],
         "keras-vit export: Model file 'absent.keras' not found: expected a .keras file written by model.save."),
        (["inspect", "absent.keras", "image.png", "--out", "out"],
         "keras-vit inspect: Model file 'absent.keras' not found: expected a .keras file written by model.save."),
    ],
    ids=["train", "train-flag-name", "export", "inspect"],
)
def test_expected_errors_of_every_subcommand_are_one_line(argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert str(exit_info.value) == message  # SystemExit(str): Python prints it to stderr and exits with 1


def test_debug_raises_the_error_itself_before_or_after_the_subcommand(tmp_path):
    missing = str(tmp_path / "absent.keras")
    with pytest.raises(FileNotFoundError, match="absent.keras' not found"):
        cli.main(["--debug", "export", missing, "--format", "onnx"])
    with pytest.raises(FileNotFoundError, match="absent.keras' not found"):
        cli.main(["export", missing, "--format", "onnx", "--debug"])


def test_keras_vit_errors_are_one_line_too(monkeypatch):
    def fail(args):
        raise ParityError("onnx export differs from the Keras model by up to 0.5 (allowed 0.0001) on 16 samples.", None)

    monkeypatch.setattr(export_cli, "run", fail)
    with pytest.raises(SystemExit, match=r"^keras-vit export: onnx export differs from the Keras model by up to 0\.5"):
        cli.main(["export", "model.keras", "--format", "onnx"])


def test_messages_of_several_lines_are_joined():
    message = "vit.safetensors does not fit the model (names in timm's layout):\n  missing (1): a\n  unexpected (2): b, c"
    assert cli.one_line(message) == (
        "vit.safetensors does not fit the model (names in timm's layout): missing (1): a; unexpected (2): b, c"
    )


def test_the_command_exits_1_with_one_line_on_stderr_and_no_traceback(tmp_path):
    (tmp_path / "junk.keras").write_bytes(b"junk")
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run([sys.executable, "-m", "keras_vit.cli", "export", str(tmp_path / "junk.keras"), "--format",
                              "onnx"], env=env, capture_output=True, text=True, timeout=240)  # fmt: skip
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    assert process.stderr.strip().splitlines()[-1] == (
        f"keras-vit export: Model file '{tmp_path / 'junk.keras'}' is not a readable zip archive (File is not a zip file; "
        "4 bytes): truncated, or another kind of file; expected a .keras file written by model.save."
    )
