"""Checkpoint files as flat dicts of numpy arrays: safetensors, PyTorch pickles (tensors only), npz.

`read_checkpoint` checks a file with `keras_vit.files` before these readers parse it (missing, truncated,
another kind: an error naming the file); each writer writes atomically.
"""

import json

import numpy as np

from keras_vit.files import atomic_path

METADATA_KEY = "keras_vit"


def read_safetensors(path):
    """`(tensors, fields)`: the arrays, and the config fields keras_vit wrote into the metadata (or {}).

    bfloat16 tensors (which numpy lacks) are read through PyTorch and widened to float32.
    """
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as file:
        metadata = file.metadata() or {}
        try:
            tensors = {key: file.get_tensor(key) for key in file.keys()}
        except TypeError:  # numpy: "data type 'bfloat16' not understood"
            tensors = None
    if tensors is None:
        _import_torch(f"Reading the bfloat16 tensors of {path}")
        with safe_open(str(path), framework="pt") as file:
            tensors = {key: _torch_to_numpy(file.get_tensor(key)) for key in file.keys()}
    return tensors, json.loads(metadata.get(METADATA_KEY, "{}"))


def _import_torch(purpose):
    try:
        import torch
    except ImportError as error:
        raise ImportError(f"{purpose} needs PyTorch (`pip install torch`).") from error
    return torch


def _torch_to_numpy(tensor):
    return tensor.detach().float().numpy() if tensor.is_floating_point() else tensor.numpy()


def read_torch(path):
    """Arrays of a PyTorch state dict, loaded with `torch.load(weights_only=True)`.

    `weights_only=True` refuses to unpickle anything but tensors and plain containers, so a file
    carrying arbitrary objects (code) is never executed. A dict wrapping the state dict under
    `"state_dict"` or `"model"` (training checkpoints) is unwrapped; any other non-tensor entry is
    an error naming it.
    """
    torch = _import_torch(f"Reading {path}")
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError or RuntimeError depending on the payload
        raise ValueError(
            f"Refusing to load {path}: it is not a plain state dict of tensors, and keras_vit never "
            f"unpickles arbitrary objects (torch.load(weights_only=True) said: {error})"
        ) from error
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict (a dict of tensors).")
    not_tensors = sorted(key for key, value in state.items() if not isinstance(value, torch.Tensor))
    if not_tensors:
        raise ValueError(f"Refusing {path}: entries that are not tensors: {', '.join(map(str, not_tensors))}.")
    return {key: _torch_to_numpy(value) for key, value in state.items()}


def read_npz(path):
    with np.load(str(path), allow_pickle=False) as file:
        return {key: file[key] for key in file.files}


def write_safetensors(tensors, path, fields):
    from safetensors.numpy import save_file

    # "format": "pt" is what safetensors.torch writes; timm and transformers read either way.
    metadata = {"format": "pt", METADATA_KEY: json.dumps(fields)}
    arrays = {key: np.ascontiguousarray(value) for key, value in tensors.items()}
    with atomic_path(path) as target:
        save_file(arrays, str(target), metadata=metadata)


def write_npz(tensors, path):
    with atomic_path(path) as target, open(target, "wb") as file:
        np.savez(file, **tensors)
