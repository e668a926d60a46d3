"""Reading any supported checkpoint into timm's layout, with the config fields it records."""

import dataclasses
import json
import pathlib

from keras_vit.checkpoints import files
from keras_vit.checks import check_normalization
from keras_vit.checkpoints.hf_layout import hf_config_fields, hf_to_timm, is_hf_layout
from keras_vit.checkpoints.npz_layout import npz_to_timm
from keras_vit.files import check_checkpoint_file, check_transformers_folder


@dataclasses.dataclass
class Checkpoint:
    """`tensors`: numpy arrays under timm's names; `fields`: `ViTConfig` fields the file records
    (keras_vit metadata, transformers config.json, npz head count); `source`: a description for errors;
    `input_normalization`: the `(mean, std)` the weights were trained on, when the file records it
    (keras_vit metadata, transformers' `preprocessor_config.json`), else None."""

    tensors: dict
    fields: dict
    source: str
    input_normalization: tuple = None


def _hf_normalization(folder):
    """`(image_mean, image_std)` of a transformers image processor beside the weights, or None."""
    path = folder / "preprocessor_config.json"
    if not path.is_file():
        return None
    processor = json.loads(path.read_text())
    if not processor.get("do_normalize", True) or "image_mean" not in processor:
        return None
    return check_normalization((processor["image_mean"], processor["image_std"]))


def read_checkpoint(path):
    """A `Checkpoint` from a timm / transformers state dict (.safetensors, .pth/.pt/.bin), a transformers
    folder (config.json + model.safetensors or pytorch_model.bin) or a Google ViT / big_vision .npz."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    config_file = None
    if path.is_dir():
        path, config_file = check_transformers_folder(path)
    else:
        check_checkpoint_file(path)
    suffix = path.suffix.lower()
    source = str(path)
    if suffix == ".npz":
        tensors, fields = npz_to_timm(files.read_npz(path))
        return Checkpoint(tensors, fields, source)
    tensors, fields = files.read_safetensors(path) if suffix == ".safetensors" else (files.read_torch(path), {})
    if "image_size" in fields:
        fields["image_size"] = tuple(fields["image_size"])
    normalization = fields.pop("input_normalization", None)
    if normalization is not None:
        normalization = check_normalization(normalization)
    if is_hf_layout(tensors):
        sibling = path.parent / "config.json"
        config_file = config_file or (sibling if sibling.is_file() else None)
        if config_file is not None:
            fields = hf_config_fields(json.loads(config_file.read_text()), config_file)
            normalization = _hf_normalization(config_file.parent)
        return Checkpoint(hf_to_timm(tensors), fields, source, normalization)
    if "patch_embed.proj.weight" not in tensors:
        raise ValueError(
            f"{path} is neither a timm ViT state dict (no 'patch_embed.proj.weight') nor a transformers ViT/DeiT "
            f"one (no '*embeddings.patch_embeddings.projection.weight'); keys start: {sorted(tensors)[:8]}."
        )
    return Checkpoint(tensors, fields, source, normalization)
