"""`save_checkpoint`: a keras_vit model's weights in timm's (or Google's npz) layout."""

import pathlib

from keras_vit.checkpoints import files
from keras_vit.checkpoints.architecture import describe_model
from keras_vit.checkpoints.npz_layout import timm_to_npz
from keras_vit.checkpoints.timm_layout import model_to_timm

FORMATS = {"timm": ".safetensors", "npz": ".npz"}


# What an npz reader takes for granted (the layout records none of it), and what the file would say instead.
_NPZ_CONVENTIONS = {"activation": "gelu", "layer_norm_epsilon": 1e-6}


def _check_npz_can_say(fields, config):
    """Refuse a model that the npz layout would give back as another: it records no activation or epsilon, and
    a CLS token there means CLS pooling."""
    wrong = {key: fields[key] for key, value in _NPZ_CONVENTIONS.items() if fields[key] != value}
    if config.class_token and config.pooling != "token":
        wrong["pooling"] = config.pooling
    if wrong:
        raise ValueError(
            f"The npz (Google ViT) layout cannot record {wrong}: read back, the model would have "
            f"{ {key: _NPZ_CONVENTIONS.get(key, 'token') for key in wrong} }. Save this model with format='timm'."
        )


def save_checkpoint(model, path, format="timm"):
    """Write `model`'s weights; returns the path.

    `format="timm"`: a `.safetensors` state dict under timm's `VisionTransformer` names and layouts, which
    timm's model of the same name (or built with the same arguments) loads strictly: `reg_token`,
    `norm_pre`, `attn_pool.*`, `fc_norm`, a patch projection without bias for CLIP, a position table
    without prefix rows for `no_embed_class` (DeiT III, DINOv2 with registers). A `pooling="gap"` model
    is timm's `global_pool="avg"` with `fc_norm` as the config says; fixed sincos2d position embeddings
    are written as the equivalent learned table, with zero rows for the prefix tokens. The tests check it
    against a forward pass written from timm's source (timm itself is not a dependency). The file's
    metadata also records the image size, heads, LayerNorm epsilon, pooling, activation, `no_embed_class`
    and input normalization, which `load_checkpoint` reads back.
    `format="npz"`: the original Google ViT `.npz` layout (no LayerScale, qk-norm, distillation or register
    token, pre-norm or attention pool; GELU, epsilon 1e-6 and CLS pooling with a CLS token, which it does
    not record: other models are refused).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(map(repr, FORMATS))}; got {format!r}.")
    path = pathlib.Path(path)
    if path.suffix != FORMATS[format]:
        raise ValueError(f"format={format!r} writes a {FORMATS[format]} file; got path {path}.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Folder {path.parent} does not exist.")
    tensors = model_to_timm(model)
    fields = describe_model(model)
    if format == "npz":
        _check_npz_can_say(fields, model.config)
    if format == "timm":
        files.write_safetensors(tensors, path, fields)
    else:
        files.write_npz(timm_to_npz(tensors, fields["num_heads"]), path)
    return path
