"""Every file keras_vit opens, checked before any work, and every file it writes, written atomically.

Reading: each `check_*` returns the path as a `pathlib.Path`, or raises `FileNotFoundError` when it does not
exist and `ValueError` when it exists but is not what was expected (a folder for a file, an empty,
truncated or unreadable file, a file of another kind), naming the path and what was expected. They read
no more than headers and directories (a zip's member checksums, a safetensors header), so they run before
a model is built or a library parses the file, whose own errors often name no file ("File not found"
for a truncated `.keras`, "header too large" for a junk `.safetensors`).

Writing: `atomic_path(path)` hands a writer (Keras' `model.save`, `save_weights`, numpy, json) a temporary
path beside `path` and renames it over `path` once written and flushed to disk, so a crash at any moment
leaves the old file or the new one, never a torn one.
"""

import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import struct
import zipfile

# The members every `.keras` archive (Keras 3's `model.save`) holds.
KERAS_MEMBERS = ("config.json", "model.weights.h5")
TORCH_SUFFIXES = (".pth", ".pt", ".bin")
CHECKPOINT_SUFFIXES = (".safetensors", ".npz") + TORCH_SUFFIXES
TRANSFORMERS_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
TFLITE_IDENTIFIER = b"TFL3"
PARTIAL_PREFIX = ".partial."


# ---------------------------------------------------------------- writing


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path` to write; once the block ends without an error it is flushed
    to disk and renamed over `path` (one atomic step), else deleted.

    The temporary name ends with `path`'s whole name (`.partial.model.keras`), so writers that check the
    suffix (`model.save` wants `.keras`, `save_weights` `.weights.h5`) accept it.
    """
    path = pathlib.Path(path)
    temporary = path.with_name(PARTIAL_PREFIX + path.name)
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, path)
        _fsync(path.parent)
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)


def _fsync(path):
    """Flush a file's (or a folder's entries') data to disk: a rename must not reach the disk before it."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. folders on Windows
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_text(path, text):
    """Write `text` to `path` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(path, value):
    write_text(path, json.dumps(value, indent=1))


def link_or_copy(source, path):
    """Make `path` a file with `source`'s content, atomically: a hard link (no copy) where the file system
    allows it, else a copy. For files that are never modified once written."""
    with atomic_path(path) as temporary:
        try:
            os.link(source, temporary)
        except OSError:
            shutil.copyfile(source, temporary)


def remove_partial_files(folder):
    """Delete the temporary files a killed writer left in `folder`."""
    folder = pathlib.Path(folder)
    if folder.is_dir():
        for path in folder.glob(PARTIAL_PREFIX + "*"):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- reading


def require_file(path, what, expected):
    """`path` as a `Path` if it is an existing, readable, non-empty file; else an error naming it."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {str(path)!r} not found: expected {expected}.")
    if path.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a folder; expected {expected}.")
    try:
        with open(path, "rb") as file:
            empty = not file.read(1)
    except OSError as error:
        raise ValueError(f"{what} {str(path)!r} cannot be read ({error.strerror}); expected {expected}.") from None
    if empty:
        raise ValueError(f"{what} {str(path)!r} is empty (0 bytes; an interrupted write?); expected {expected}.")
    return path


def require_folder(path, what, expected):
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {str(path)!r} not found: expected {expected}.")
    if not path.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a file; expected {expected}.")
    return path


def _head(path, size):
    with open(path, "rb") as file:
        return file.read(size)


def _check_zip(path, what, expected, members=()):
    """A readable zip archive whose members pass their CRC check and include `members`."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        size = path.stat().st_size
        raise ValueError(
            f"{what} {str(path)!r} is not a readable zip archive ({error}; {size} bytes): truncated, or another "
            f"kind of file; expected {expected}."
        ) from None
    if damaged is not None:
        raise ValueError(
            f"{what} {str(path)!r} is damaged: its member {damaged!r} fails its checksum; expected {expected}."
        )
    absent = [name for name in members if name not in names]
    if absent:
        raise ValueError(
            f"{what} {str(path)!r} is a zip archive without {', '.join(absent)}: not {expected} "
            f"(it holds {', '.join(names[:5]) or 'nothing'})."
        )
    return names


def check_keras_file(path, what="Model file"):
    """A `.keras` file (Keras 3's `model.save`): a complete zip with `config.json` and the weights."""
    expected = "a .keras file written by model.save"
    path = require_file(path, what, expected)
    if path.suffix != ".keras":
        raise ValueError(f"{what} {str(path)!r} is not a .keras file; expected {expected}.")
    _check_zip(path, what, expected, KERAS_MEMBERS)
    return path


def check_safetensors(path, what="Checkpoint"):
    """A complete safetensors file: an 8-byte header length, a JSON header, and every tensor's bytes."""
    expected = "a .safetensors file"
    path = require_file(path, what, expected)
    size = path.stat().st_size
    head = _head(path, 8)
    header_size = struct.unpack("<Q", head)[0] if len(head) == 8 else None
    if header_size is None or 8 + header_size > size:
        raise ValueError(
            f"{what} {str(path)!r} is not a safetensors file, or is truncated: its first 8 bytes give a "
            f"{header_size}-byte header, but the file holds {size} bytes; expected {expected}."
        )
    try:
        header = json.loads(_head(path, 8 + header_size)[8:])
        end = max((entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"), default=0)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise ValueError(
            f"{what} {str(path)!r} has no valid safetensors header ({error}); expected {expected}."
        ) from None
    if 8 + header_size + end > size:
        raise ValueError(
            f"{what} {str(path)!r} is truncated: its header places tensor data up to byte {8 + header_size + end}, "
            f"but the file holds {size} bytes."
        )
    return path


def check_torch_file(path, what="Checkpoint"):
    """A PyTorch `torch.save` file: a complete zip archive (the format since torch 1.6) or a pickle."""
    expected = "a PyTorch state dict saved by torch.save"
    path = require_file(path, what, expected)
    if _head(path, 4) == ZIP_MAGIC:  # a truncated zip keeps its first header, not its directory at the end
        _check_zip(path, what, expected)
    elif _head(path, 1) != b"\x80":  # every pickle of protocol 2 or later starts so
        raise ValueError(f"{what} {str(path)!r} is neither a zip archive nor a pickle: not {expected}.")
    return path


def check_npz(path, what="Checkpoint"):
    """A complete `.npz` archive of `.npy` arrays."""
    expected = "a .npz archive of arrays"
    path = require_file(path, what, expected)
    names = _check_zip(path, what, expected)
    if not names or not all(name.endswith(".npy") for name in names):
        raise ValueError(f"{what} {str(path)!r} is a zip archive but not {expected} (it holds {', '.join(names[:5])}).")
    return path


def check_transformers_folder(folder, what="Checkpoint"):
    """A transformers checkpoint folder: `config.json` (valid JSON) and a weights file; returns
    `(weights file, config file)`."""
    expected = f"a transformers checkpoint folder (config.json and {' or '.join(TRANSFORMERS_WEIGHTS)})"
    folder = require_folder(folder, what, expected)
    weights = [folder / name for name in TRANSFORMERS_WEIGHTS if (folder / name).is_file()]
    config = folder / "config.json"
    if not config.is_file() or not weights:
        raise ValueError(f"{what} {str(folder)!r} is a folder but not {expected}: it needs config.json and one of "
                         f"{', '.join(TRANSFORMERS_WEIGHTS)}.")
    try:
        json.loads(require_file(config, what, "a JSON model config").read_text())
    except ValueError as error:
        raise ValueError(f"{what} {str(folder)!r}: config.json is not valid JSON ({error}).") from None
    check_checkpoint_file(weights[0], what)
    return weights[0], config


def check_checkpoint_file(path, what="Checkpoint"):
    """A checkpoint file of a kind its suffix names: `.safetensors`, `.npz`, or a PyTorch `.pth/.pt/.bin`."""
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return check_safetensors(path, what)
    if suffix == ".npz":
        return check_npz(path, what)
    if suffix in TORCH_SUFFIXES:
        return check_torch_file(path, what)
    if not path.exists():
        raise FileNotFoundError(f"{what} {str(path)!r} not found: expected a checkpoint file.")
    raise ValueError(
        f"Unsupported {what.lower()} file {str(path)!r}: the suffix must be one of {', '.join(CHECKPOINT_SUFFIXES)}, "
        "or the path a transformers or timm checkpoint folder."
    )


def check_checkpoint(path, what="Checkpoint"):
    """Any checkpoint `keras_vit.load_checkpoint` reads: a file (see `check_checkpoint_file`) or a
    transformers folder. Returns the path."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{what} {str(path)!r} not found: expected a timm / transformers / npz checkpoint (file, or transformers "
            "folder)."
        )
    if path.is_dir():
        check_transformers_folder(path, what)
    else:
        check_checkpoint_file(path, what)
    return path


def check_npy(path, what="Array file"):
    """A `.npy` file: numpy's magic string, a header numpy reads, and all the bytes it announces."""
    import numpy as np

    expected = "a .npy file written by numpy.save"
    path = require_file(path, what, expected)
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    with open(path, "rb") as file:
        if file.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise ValueError(f"{what} {str(path)!r} is not a .npy file (no numpy magic string); expected {expected}.")
        file.seek(0)
        try:
            version = np.lib.format.read_magic(file)
            if version not in readers:  # a newer format: np.load checks it
                return path
            shape, _, dtype = readers[version](file)
        except ValueError as error:
            raise ValueError(f"{what} {str(path)!r} has no valid .npy header ({error}).") from None
        data_start = file.tell()
    if dtype.hasobject:
        raise ValueError(
            f"{what} {str(path)!r} holds Python objects, which keras_vit never unpickles; expected numbers."
        )
    needed = data_start + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if path.stat().st_size < needed:
        raise ValueError(
            f"{what} {str(path)!r} is truncated: its header announces a {dtype} array of shape {shape} "
            f"({needed} bytes with the header), but the file holds {path.stat().st_size} bytes."
        )
    return path


def load_npy(path, what="Array file"):
    """The array in the `.npy` file `path`, after `check_npy` (no pickles)."""
    import numpy as np

    return np.load(check_npy(path, what), allow_pickle=False)


def check_tflite(path, what="TFLite file"):
    """A TFLite flatbuffer: the `TFL3` file identifier at bytes 4-8."""
    expected = "a .tflite flatbuffer"
    path = require_file(path, what, expected)
    if _head(path, 8)[4:8] != TFLITE_IDENTIFIER:
        raise ValueError(f"{what} {str(path)!r} is not a TFLite model (no 'TFL3' identifier); expected {expected}.")
    return path


def check_onnx(path, what="ONNX file"):
    """A non-empty `.onnx` file (the protobuf itself is checked by ONNX Runtime when loading)."""
    return require_file(path, what, "an .onnx model")


def check_saved_model(path, what="SavedModel"):
    """A SavedModel folder: `saved_model.pb` (or `.pbtxt`) inside."""
    expected = "a SavedModel folder (saved_model.pb and variables/)"
    path = require_folder(path, what, expected)
    if not any((path / name).is_file() for name in ("saved_model.pb", "saved_model.pbtxt")):
        raise ValueError(f"{what} {str(path)!r} has no saved_model.pb: not {expected}.")
    return path


def load_image(path, color_mode="rgb", what="Image file"):
    """The image file `path` decoded by PIL (through `keras.utils.load_img`), as a PIL image in `color_mode`."""
    import keras

    path = require_file(path, what, "an image file (PNG, JPEG, BMP, GIF, ...)")
    try:
        image = keras.utils.load_img(path, color_mode=color_mode)
        image.load()  # decodes every byte now: a truncated file fails here, not later
    except (OSError, ValueError, SyntaxError) as error:  # PIL: UnidentifiedImageError is an OSError
        raise ValueError(
            f"{what} {str(path)!r} cannot be decoded as an image ({type(error).__name__}: {error})."
        ) from None
    return image
