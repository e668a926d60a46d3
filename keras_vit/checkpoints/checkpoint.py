"""Reading any supported checkpoint into timm's layout, with the config it records."""

import dataclasses
import json
import pathlib

from keras_vit.checkpoints import files
from keras_vit.checkpoints.hf_layout import hf_config_fields, hf_to_timm, is_hf_layout
from keras_vit.checkpoints.npz_layout import npz_to_timm
from keras_vit.checkpoints.swin_layout import hf_swin_config_fields, hf_swin_to_timm, is_hf_swin, is_swin
from keras_vit.checkpoints.timm_config import is_timm_config, timm_config_fields
from keras_vit.checks import check_normalization
from keras_vit.files import check_checkpoint_file, require_file

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# The normalization of weights trained on pixels scaled to [0, 1] only: (x - 0) / 1.
PLAIN_PIXELS = ((0.0,), (1.0,))


@dataclasses.dataclass
class Checkpoint:
    """`tensors`: numpy arrays under timm's names; `fields`: `ViTConfig` fields the checkpoint records
    (keras_vit metadata, timm's or transformers' config.json, an npz's attention kernels); `source`: a
    description for errors; `input_normalization`: the `(mean, std)` the weights were trained on
    (`PLAIN_PIXELS` for [0, 1] pixels) when the checkpoint records it (keras_vit metadata, timm's
    `pretrained_cfg`, transformers' `preprocessor_config.json`), else None; `name`: the row of keras_vit's
    config table that timm's config.json names as the architecture, else None."""

    tensors: dict
    fields: dict
    source: str
    input_normalization: tuple = None
    name: str = None


def _hf_normalization(folder):
    """The `(mean, std)` on the [0, 1] scale that a transformers image processor beside the weights applies,
    or None without one. A processor's `(x * rescale_factor - image_mean) / image_std` is
    `(x / 255 - mean) / std` with `mean, std = (image_mean, image_std) / (255 * rescale_factor)`."""
    path = folder / "preprocessor_config.json"
    if not path.is_file():
        return None
    processor = json.loads(path.read_text())
    normalize = processor.get("do_normalize", True)
    if normalize and not {"image_mean", "image_std"} <= set(processor):
        return None
    factor = 255.0 * processor.get("rescale_factor", 1 / 255) if processor.get("do_rescale", True) else 255.0
    if abs(factor - 1.0) < 1e-9:
        factor = 1.0
    mean, std = (processor["image_mean"], processor["image_std"]) if normalize else (0, 1)
    mean, std = check_normalization((mean, std))
    return tuple(m / factor for m in mean), tuple(s / factor for s in std)


def _metadata_facts(fields):
    """`(fields, input_normalization)` of keras_vit's metadata (`fields` empty: none written). keras_vit 0.2
    wrote `input_normalization` only for a model that had one, and built GELU MLPs only: its files tell both."""
    if not fields:
        return fields, None
    value = fields.pop("input_normalization", None)
    fields.setdefault("activation", "gelu")
    return fields, PLAIN_PIXELS if value is None else check_normalization(value)


def _folder_files(folder):
    """`(weights file, config file)` of a transformers or timm checkpoint folder, both checked."""
    weights = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not (folder / "config.json").is_file() or not weights:
        raise ValueError(
            f"{folder} is a folder but not a transformers or timm checkpoint: it needs config.json and one of "
            f"{', '.join(WEIGHT_FILES)}."
        )
    return check_checkpoint_file(weights[0]), _config_file(folder / "config.json")


def _config_file(path):
    """`path` if it holds valid JSON; else an error naming it."""
    try:
        json.loads(require_file(path, "Checkpoint config", "a JSON model config").read_text())
    except ValueError as error:
        raise ValueError(f"Checkpoint config {str(path)!r} is not valid JSON ({error}).") from None
    return path


def read_checkpoint(path):
    """A `Checkpoint` from a timm / transformers state dict (.safetensors, .pth/.pt/.bin), a transformers or
    timm folder (config.json + model.safetensors or pytorch_model.bin; a config.json beside a single file
    is read too) or a Google ViT / big_vision .npz."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    config_file = None
    if path.is_dir():
        path, config_file = _folder_files(path)
    else:
        check_checkpoint_file(path)  # the suffix, then the file's own kind, named before any reading
    suffix = path.suffix.lower()
    source = str(path)
    if suffix == ".npz":
        tensors, fields = npz_to_timm(files.read_npz(path))
        return Checkpoint(tensors, fields, source)
    tensors, fields = files.read_safetensors(path) if suffix == ".safetensors" else (files.read_torch(path), {})
    if "image_size" in fields:
        fields["image_size"] = tuple(fields["image_size"])
    fields, normalization = _metadata_facts(fields)
    sibling = path.parent / "config.json"
    config_file = config_file or (_config_file(sibling) if sibling.is_file() else None)
    config = json.loads(config_file.read_text()) if config_file is not None else {}
    if is_hf_swin(tensors):
        tensors = hf_swin_to_timm(tensors)
        if config.get("model_type") == "swin":
            fields = hf_swin_config_fields(config, config_file)
            normalization = _hf_normalization(config_file.parent)
        return Checkpoint(tensors, fields, source, normalization)
    if is_hf_layout(tensors):
        tensors = hf_to_timm(tensors)
        if "model_type" in config:
            fields = hf_config_fields(config, config_file)
            normalization = _hf_normalization(config_file.parent)
        if fields.get("pooling", "map") != "map":  # SiglipForImageClassification keeps an attention pool it never calls
            tensors = {key: value for key, value in tensors.items() if not key.startswith("attn_pool.")}
        return Checkpoint(tensors, fields, source, normalization)
    if "patch_embed.proj.weight" not in tensors:
        raise ValueError(
            f"{path} is neither a timm ViT state dict (no 'patch_embed.proj.weight') nor a transformers ViT, DeiT, "
            "DINOv2, CLIP or SigLIP one (no '*embeddings.patch_embeddings.projection.weight' or "
            f"'*embeddings.patch_embedding.weight'); keys start: {sorted(tensors)[:8]}."
        )
    name = None
    if not fields and is_timm_config(config):  # keras_vit's own metadata comes first
        name, fields, normalization = timm_config_fields(config, config_file)
        if is_swin(tensors):  # timm's Swin: the architecture's row, its image size and normalization
            fields = {"image_size": fields["image_size"]} if "image_size" in fields else {}
        if name is None:
            source = f"{source} (timm architecture {config['architecture']!r}, not in keras_vit's config table)"
    return Checkpoint(tensors, fields, source, normalization, name)
