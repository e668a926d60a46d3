"""`load_checkpoint` (a new model from a checkpoint) and `load_weights` (into an existing model)."""

import keras
import numpy as np

from keras_vit.checkpoints.architecture import (
    head_inputs,
    infer_fields,
    num_classes_of,
    pixel_patch_size,
    position_grid,
    position_prefix_rows,
)
from keras_vit.checkpoints.checkpoint import PLAIN_PIXELS, read_checkpoint
from keras_vit.checkpoints.resample import resample_position_table
from keras_vit.checkpoints.swin_layout import HEAD_KEYS as SWIN_HEAD_KEYS
from keras_vit.checkpoints.swin_layout import fit_bias_tables, is_swin, swin_shape_fields
from keras_vit.checkpoints.timm_layout import assign, model_entries
from keras_vit.checks import check_bool, check_normalization, check_num_classes, to_pair
from keras_vit.models import SwinTransformer, VisionTransformer, get_config
from keras_vit.models.configs import SwinConfig, config_fields, config_from_dict, describes, validate_config
from keras_vit.models.vit import resolve_config

HEAD_KEYS = ("head.weight", "head.bias", "head_dist.weight", "head_dist.bias")
PREFIX_KEYS = ("cls_token", "dist_token", "reg_token")  # timm's order of the prefix tokens


def _num_prefix_tokens(tensors):
    return sum(tensors[key].shape[1] for key in PREFIX_KEYS if key in tensors)


def _fold_prefix_positions(tensors, rows):
    """The prefix tokens with their position rows `(1, T, dim)` added: the same tokens entering the first
    block, for a model whose table has no prefix rows (timm's `no_embed_class`)."""
    tensors, start = dict(tensors), 0
    for key in PREFIX_KEYS:
        if key in tensors:
            count = tensors[key].shape[1]
            tensors[key] = tensors[key] + rows[:, start : start + count]
            start += count
    return tensors


def fit_position_embeddings(tensors, encoder, known_image_size, source, antialias=True):
    """`tensors` with `pos_embed` shaped for `encoder`: zero rows added for prefix tokens the checkpoint gave no
    position (timm's `no_embed_class`, big_vision) when the encoder's table has them, or the checkpoint's
    prefix rows added to the prefix tokens when it has none; the patch rows resampled (bicubic, antialiased
    as timm unless `antialias=False`) from the checkpoint's grid to the encoder's. Both are exact: a prefix
    token's position is a constant added to it. Anything that still does not fit is left for the mismatch
    report."""
    if "pos_embed" not in tensors or encoder.position_embedding == "none":
        return tensors
    num_prefix = _num_prefix_tokens(tensors)
    patch_weight = tensors.get("patch_embed.proj.weight")
    patch_size = tuple(patch_weight.shape[2:]) if patch_weight is not None else encoder.patch_size
    if encoder.patch_embedding == "resnetv2":  # the grid in pixels: the backbone's stride times the patch
        patch_size = tuple(p * s // q for p, s, q in zip(patch_size, encoder.pixel_patch_size, encoder.patch_size))
    grid = position_grid(tensors, num_prefix, patch_size, known_image_size, encoder.grid_size, source)
    table, rows = tensors["pos_embed"], position_prefix_rows(tensors, grid)
    # A fixed sincos2d table is written (and so read) with zero rows for every prefix token.
    wanted = encoder.num_prefix_tokens if encoder.position_embedding == "sincos2d" else encoder.num_position_prefix_tokens
    if rows == 0 and wanted:
        table = np.concatenate([np.zeros((1, num_prefix, table.shape[2]), table.dtype), table], axis=1)
    elif rows and not wanted:
        tensors, table = _fold_prefix_positions(tensors, table[:, :rows]), table[:, rows:]
    if tuple(grid) != tuple(encoder.grid_size):
        table = resample_position_table(table, wanted, grid, encoder.grid_size, antialias)
    return {**tensors, "pos_embed": table}


def _load_into(model, checkpoint, skip=(), antialias=True):
    entries = [entry for entry in model_entries(model) if entry.key not in skip]
    tensors = {key: value for key, value in checkpoint.tensors.items() if key not in skip}
    if isinstance(model, SwinTransformer):
        tensors = fit_bias_tables(tensors, model)
    else:
        known_size = checkpoint.fields.get("image_size")
        tensors = fit_position_embeddings(tensors, model.patch_encoder, known_size, checkpoint.source, antialias)
    assign(entries, tensors, checkpoint.source)


def load_weights(model, path, antialias=True):
    """Load a checkpoint (any format `load_checkpoint` reads) into an existing `VisionTransformer` or
    `SwinTransformer`; returns it.

    Every model weight must have a tensor of the right shape and every tensor a weight, else a
    `ValueError` lists the missing, unexpected and wrongly shaped tensors by name, and nothing is
    assigned. A Swin's relative position bias tables trained for another window are resampled as timm's
    `resize_rel_pos_bias_table` does. Position embeddings trained on another patch grid are resampled (bicubic, antialiased as
    timm's `resample_abs_pos_embed` unless `antialias=False`) to the model's. The model keeps its own
    `input_normalization`.
    """
    check_bool(antialias, "antialias")
    _load_into(model, read_checkpoint(path), antialias=antialias)
    return model


def _image_size(checkpoint, fields, source):
    """The image size the checkpoint was trained at: recorded, else its position table's grid."""
    tensors = checkpoint.tensors
    num_prefix = int(fields["class_token"]) + int(fields["distillation_token"]) + fields["reg_tokens"]
    known = checkpoint.fields.get("image_size")
    patch = pixel_patch_size(fields)
    grid = position_grid(tensors, num_prefix, patch, known, None, source)
    if grid is None:
        if known is None:
            raise ValueError(f"{source} has no position embeddings or recorded image size; pass image_size=.")
        return known
    return (grid[0] * patch[0], grid[1] * patch[1])


def _input_normalization(checkpoint, given):
    """The model's `input_normalization`: the caller's, else the checkpoint's; (0, 1) means [0, 1] pixels (None)."""
    normalization = given if given is not None else checkpoint.input_normalization
    if normalization is None:
        raise ValueError(
            f"{checkpoint.source} does not record the input normalization its weights were trained with (the mean "
            "and std of timm's config.json pretrained_cfg, of transformers' preprocessor_config.json, or keras_vit's "
            "metadata); pass input_normalization=(mean, std) on the [0, 1] pixel scale, e.g. ((0.485, 0.456, 0.406), "
            "(0.229, 0.224, 0.225)) for ImageNet's, ((0.5,), (0.5,)) for [-1, 1], or (0, 1) for pixels scaled to "
            "[0, 1] only."
        )
    mean, std = normalization
    return None if set(mean) == set(PLAIN_PIXELS[0]) and set(std) == set(PLAIN_PIXELS[1]) else normalization


def _config(checkpoint, name, image_size, overrides):
    """`(ViTConfig, table name or None)` for the checkpoint: the caller's named row with the caller's overrides;
    else the row the file names, with the fields and image size it records; else the architecture read from the
    file (`infer_fields`), whose prefix tokens have positions unless its table lacks their rows."""
    source, tensors, recorded = checkpoint.source, checkpoint.tensors, checkpoint.fields
    row = name or checkpoint.name
    if row is not None:
        fields = dict(overrides) if name is not None else {**recorded, **overrides}
        recorded_size = fields.pop("image_size", None)
        size = image_size if image_size is not None or name is not None else recorded_size
        return resolve_config(row, image_size=size, **fields), row
    fields = infer_fields(tensors, {**recorded, **overrides}, source)
    if fields["position_embedding"] == "learned" and "no_embed_class" not in fields:
        requested = None if image_size is None else _grid(image_size, pixel_patch_size(fields))
        grid = position_grid(tensors, _num_prefix_tokens(tensors), pixel_patch_size(fields), recorded.get("image_size"),
                             requested, source)  # fmt: skip
        fields["no_embed_class"] = _num_prefix_tokens(tensors) > 0 and position_prefix_rows(tensors, grid) == 0
    size = image_size if image_size is not None else _image_size(checkpoint, fields, source)
    return resolve_config(None, image_size=size, **fields), None


def _grid(image_size, patch_size):
    (height, width), (ph, pw) = to_pair(image_size, "image_size"), to_pair(patch_size, "patch_size")
    return (height // ph, width // pw)


def load_checkpoint(path, name=None, *, num_classes=None, image_size=None, input_normalization=None, class_names=None,
                    antialias=True, **overrides):  # fmt: skip
    """Build a `VisionTransformer` (hybrids included) or a `SwinTransformer` with a checkpoint's weights.

    A Swin checkpoint (timm's `SwinTransformer`, or a transformers `SwinModel` / `SwinForImageClassification`
    folder) gives a `SwinTransformer`: its architecture is the named row, else timm's config.json row, else read
    from the tensors (heads from the bias tables) with `image_size=` or a recorded image size. A `window_size=`
    other than the checkpoint's resamples every relative position bias table as timm does.

    Args:
        path: a timm or transformers state dict (`.safetensors`; `.pth`/`.pt`/`.bin` through
            `torch.load(weights_only=True)`, never unpickling other objects), a transformers folder
            (`config.json` + `model.safetensors` or `pytorch_model.bin`) of a ViT, DeiT, DINOv2 (with
            registers), CLIP or SigLIP model, a timm folder (its `config.json` and weights), or a Google
            ViT / big_vision `.npz`. A `config.json` beside a single file is read too.
        name: a config from `list_configs()`; the checkpoint must then fit it. Without it: the
            architecture timm's `config.json` names when the table has it, else the architecture read
            from the file and its recorded config (see `keras_vit.checkpoints.architecture`).
        num_classes: a new classification head of this size, initialized to zeros (big_vision's
            fine-tuning convention: the first logits are all 0). None keeps the checkpoint's head, or
            builds a headless model (`include_top=False`) when it has none.
        image_size: int or `(h, w)`; position embeddings are resampled (bicubic over the patch grid,
            prefix tokens kept) from the checkpoint's grid. Default: the checkpoint's.
        input_normalization: `(mean, std)` the weights expect (see `VisionTransformer`); default: what
            the checkpoint records (keras_vit's metadata, timm's `pretrained_cfg`, transformers'
            `preprocessor_config.json`), and an error naming this argument when it records none. `(0, 1)`
            says the weights take pixels scaled to [0, 1] only (the model's `input_normalization` is then None).
        class_names: the names of the classes, in label order.
        antialias: resample position embeddings as timm's `resample_abs_pos_embed` does by default
            (torch's antialiased bicubic); False: torch's plain bicubic.
        **overrides: `ViTConfig` fields the checkpoint does not record, as the error for a missing one
            names them (`num_heads`, `pooling`, `activation`), or fields of `name`'s row to replace.

    The model takes raw pixels in [0, 255] and applies the normalization itself.
    Raises `ValueError` naming each fact the checkpoint does not tell (and the argument that supplies
    it), and listing missing, unexpected and wrongly shaped tensors when the file does not fit the
    architecture.
    """
    if num_classes is not None:
        check_num_classes(num_classes)
    if image_size is not None:
        image_size = to_pair(image_size, "image_size")
    if input_normalization is not None:
        input_normalization = check_normalization(input_normalization)
    check_bool(antialias, "antialias")
    if name is not None:
        get_config(name, **overrides)  # unknown names and fields, before reading the file
    checkpoint = read_checkpoint(path)
    normalization = _input_normalization(checkpoint, input_normalization)
    if is_swin(checkpoint.tensors):
        return _load_swin(checkpoint, name, num_classes, image_size, normalization, class_names, overrides)
    get_config(None, **overrides)
    config, table_name = _config(checkpoint, name, image_size, overrides)
    checkpoint_classes, inputs = num_classes_of(checkpoint.tensors), head_inputs(checkpoint.tensors)
    width = checkpoint.tensors["patch_embed.proj.weight"].shape[0]
    new_head = num_classes is not None and (num_classes != checkpoint_classes or inputs != width)
    if not new_head and inputs not in (None, width):
        raise ValueError(
            f"{checkpoint.source}: its head takes {inputs} inputs, not the {width} pooled features keras_vit's heads "
            "read (transformers' Dinov2ForImageClassification reads the CLS token beside the mean patch token); "
            "pass num_classes= to replace it with a new head."
        )
    classes = checkpoint_classes if num_classes is None else num_classes
    model = VisionTransformer(
        config,
        classes,
        include_top=classes is not None,
        class_names=class_names,
        input_normalization=normalization,
        name=table_name if describes(table_name, config) else None,
    )
    _load_into(model, checkpoint, skip=HEAD_KEYS if new_head else (), antialias=antialias)
    if new_head:
        for head in model.heads:
            for variable in head.weights:
                variable.assign(keras.ops.zeros(variable.shape, variable.dtype))
    return model


def _swin_config(checkpoint, name, image_size, overrides):
    """`(SwinConfig, table name or None)`: the caller's row, else the row timm's config.json names, else the
    architecture the tensors give; the checkpoint's recorded fields and image size, then the caller's, on top."""
    recorded = {key: value for key, value in checkpoint.fields.items() if key in config_fields(SwinConfig)}
    row = name or checkpoint.name
    if row is not None and not isinstance(get_config(row), SwinConfig):
        raise ValueError(f"{checkpoint.source} holds a Swin Transformer; {row!r} is not a swin_* config.")
    fields = dict(overrides) if name is not None else {**recorded, **overrides}
    if row is None:
        fields = {**swin_shape_fields(checkpoint.tensors, checkpoint.source), **fields}
    if image_size is not None:
        fields["image_size"] = image_size
    elif row is None and "image_size" not in fields:
        raise ValueError(
            f"{checkpoint.source} does not record the image size its Swin Transformer was built for (its tensors do "
            "not tell it); pass image_size=, or name= of its config (keras_vit.list_configs('swin_*'))."
        )
    config = config_from_dict(fields, SwinConfig) if row is None else validate_config(get_config(row, **fields))
    return config, row


def _load_swin(checkpoint, name, num_classes, image_size, normalization, class_names, overrides):
    """A `SwinTransformer` with the checkpoint's weights (see `load_checkpoint`); its bias tables resampled when
    `overrides` asks for another `window_size`."""
    config, row = _swin_config(checkpoint, name, image_size, overrides)
    head = checkpoint.tensors.get("head.fc.weight")
    checkpoint_classes = None if head is None else int(head.shape[0])
    new_head = num_classes is not None and num_classes != checkpoint_classes
    classes = checkpoint_classes if num_classes is None else num_classes
    model = SwinTransformer(
        config, classes, include_top=classes is not None, class_names=class_names, input_normalization=normalization,
        name=row if describes(row, config) else None,
    )  # fmt: skip
    _load_into(model, checkpoint, skip=SWIN_HEAD_KEYS if new_head else ())
    if new_head:
        for variable in model.head.weights:
            variable.assign(keras.ops.zeros(variable.shape, variable.dtype))
    return model
