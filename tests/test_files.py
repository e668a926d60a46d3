"""Every file keras_vit opens gets a clear error, naming the path and what was expected, when it is missing,
empty, truncated or of another kind, raised before any work; every file it writes is written atomically."""

import json
import zipfile

import keras
import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

import keras_vit
from keras_vit import files
from keras_vit.export import check_artifact, load_artifact


def truncated(path, fraction=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


@pytest.fixture(scope="module")
def saved_model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "vit.keras"
    keras_vit.build_vit(num_classes=3, image_size=16, patch_size=4, dim=32, depth=1, num_heads=2, mlp_dim=64).save(path)
    return path


def test_broken_keras_files_are_named_before_keras_reads_them(saved_model_file, tmp_path):
    """Keras reports each of these as "File not found" although the file exists."""
    (tmp_path / "empty.keras").write_bytes(b"")
    (tmp_path / "junk.keras").write_bytes(b"not a zip archive " * 8)
    (tmp_path / "cut.keras").write_bytes(saved_model_file.read_bytes()[:-100])
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:
        archive.writestr("notes.txt", "a zip, but not a model")
    cases = {
        "empty.keras": r"is empty \(0 bytes; an interrupted write\?\); expected a \.keras file written by model\.save",
        "junk.keras": r"is not a readable zip archive \(File is not a zip file; 144 bytes\): truncated, or another kind",
        "cut.keras": r"is not a readable zip archive .*truncated",
        "other.keras": r"is a zip archive without config\.json, model\.weights\.h5: not a \.keras file .*\(it holds notes\.txt\)",
    }
    for name, message in cases.items():
        with pytest.raises(ValueError, match=f"Model file '{tmp_path / name}' " + message):
            keras_vit.load_model(tmp_path / name)
    with pytest.raises(FileNotFoundError, match=r"Model file '.*absent\.keras' not found: expected a \.keras file"):
        keras_vit.load_model(tmp_path / "absent.keras")
    with pytest.raises(ValueError, match=r"'.*' is a folder; expected a \.keras file"):
        keras_vit.load_model(tmp_path)
    assert keras_vit.load_model(saved_model_file).num_classes == 3


def test_broken_checkpoints_name_the_file(tmp_path):
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 100)
    with pytest.raises(ValueError, match=r"Checkpoint '.*junk\.safetensors' is not a safetensors file, or is truncated: "
                                         r"its first 8 bytes give a \d+-byte header, but the file holds 100 bytes"):
        keras_vit.load_checkpoint(tmp_path / "junk.safetensors")
    save_file({"patch_embed.proj.weight": np.zeros((32, 3, 4, 4), "float32")}, tmp_path / "cut.safetensors")
    truncated(tmp_path / "cut.safetensors", 0.9)
    with pytest.raises(ValueError, match=r"'.*cut\.safetensors' is truncated: its header places tensor data up to byte"):
        keras_vit.load_checkpoint(tmp_path / "cut.safetensors")

    (tmp_path / "junk.pth").write_bytes(b"GIF89a not a state dict")
    with pytest.raises(ValueError, match=r"'.*junk\.pth' is neither a zip archive nor a pickle: not a PyTorch state dict"):
        keras_vit.load_checkpoint(tmp_path / "junk.pth")
    torch.save({"patch_embed.proj.weight": torch.zeros(32, 3, 4, 4)}, tmp_path / "cut.pth")
    truncated(tmp_path / "cut.pth")
    with pytest.raises(ValueError, match=r"'.*cut\.pth' is not a readable zip archive"):
        keras_vit.load_checkpoint(tmp_path / "cut.pth")

    np.savez(tmp_path / "cut.npz", a=np.zeros(1000))
    truncated(tmp_path / "cut.npz")
    with pytest.raises(ValueError, match=r"'.*cut\.npz' is not a readable zip archive"):
        keras_vit.load_checkpoint(tmp_path / "cut.npz")

    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": ')
    save_file({"a": np.zeros(2, "float32")}, folder / "model.safetensors")
    with pytest.raises(ValueError, match=r"'.*hf/config\.json' is not valid JSON"):
        keras_vit.load_checkpoint(folder)


def test_broken_arrays_name_the_file(tmp_path):
    np.save(tmp_path / "images.npy", np.zeros((4, 8, 8, 1), "float32"))
    truncated(tmp_path / "images.npy", 0.8)
    with pytest.raises(ValueError, match=r"'.*images\.npy' is truncated: its header announces a float32 array of shape "
                                         r"\(4, 8, 8, 1\)"):
        files.load_npy(tmp_path / "images.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"holds Python objects, which keras_vit never unpickles"):
        files.load_npy(tmp_path / "objects.npy")
    (tmp_path / "text.npy").write_text("1, 2, 3")
    with pytest.raises(ValueError, match=r"is not a \.npy file \(no numpy magic string\)"):
        files.load_npy(tmp_path / "text.npy")


def test_broken_exports_are_named_before_their_runtime_reads_them(tmp_path):
    model = keras_vit.build_vit(num_classes=3, image_size=16, patch_size=4, dim=32, depth=1, num_heads=2, mlp_dim=64)
    with pytest.raises(FileNotFoundError, match=r"Export '.*absent\.tflite' not found"):
        check_artifact(model, tmp_path / "absent.tflite")
    (tmp_path / "junk.tflite").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"tflite export '.*junk\.tflite' is not a TFLite model \(no 'TFL3' identifier\)"):
        check_artifact(model, tmp_path / "junk.tflite")
    (tmp_path / "junk.onnx").write_bytes(b"\x08junk" * 10)
    with pytest.raises(ValueError, match=r"onnx export '.*junk\.onnx' cannot be loaded \(.*Protobuf parsing failed"):
        load_artifact(tmp_path / "junk.onnx")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match=r"saved_model export '.*folder' has no saved_model\.pb"):
        load_artifact(tmp_path / "folder")


@pytest.mark.parametrize("format", ["tflite", "onnx"])
def test_an_export_of_another_model_is_named(tmp_path, format):
    """A foreign .tflite used to fail inside LiteRT's delegate."""
    small = keras_vit.build_vit(num_classes=3, image_size=8, patch_size=4, dim=16, depth=1, num_heads=2, mlp_dim=32)
    path = tmp_path / f"small.{format}"
    keras_vit.export(small, path, format=format, verify=False)
    model = keras_vit.build_vit(num_classes=3, image_size=16, patch_size=4, dim=32, depth=1, num_heads=2, mlp_dim=64)
    with pytest.raises(ValueError, match=rf"Export '.*small\.{format}' takes images \(B, 8, 8, 3\), but model '.*' "
                                         r"takes \(B, 16, 16, 3\): it is an export of another model"):
        check_artifact(model, path)


def test_broken_images_are_named(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ValueError, match=r"Image file '.*notes\.png' cannot be decoded as an image \(UnidentifiedImageError"):
        files.load_image(tmp_path / "notes.png")
    keras.utils.save_img(tmp_path / "photo.png", np.random.default_rng(0).integers(0, 256, (32, 32, 3)), scale=False)
    truncated(tmp_path / "photo.png")
    with pytest.raises(ValueError, match=r"'.*photo\.png' cannot be decoded as an image \(OSError: .*truncated"):
        files.load_image(tmp_path / "photo.png")


def test_atomic_writes_leave_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "result.json"
    files.write_json(path, {"a": 1})
    with pytest.raises(RuntimeError):
        with files.atomic_path(path) as temporary:
            temporary.write_text('{"a": 2, "b"')  # half written
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]
    source = tmp_path / "source.keras"
    source.write_bytes(b"model")
    files.link_or_copy(source, tmp_path / "best.keras")
    assert (tmp_path / "best.keras").read_bytes() == b"model"
