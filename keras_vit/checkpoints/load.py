"""`load_checkpoint` (a new model from a checkpoint) and `load_weights` (into an existing model)."""

import keras
import numpy as np

from keras_vit.checkpoints.architecture import infer_fields, num_classes_of, position_grid
from keras_vit.checkpoints.checkpoint import read_checkpoint
from keras_vit.checkpoints.resample import resample_position_table
from keras_vit.checkpoints.timm_layout import assign, model_entries
from keras_vit.checks import check_num_classes, to_pair
from keras_vit.models import VisionTransformer, get_config
from keras_vit.models.configs import describes
from keras_vit.models.vit import resolve_config

HEAD_KEYS = ("head.weight", "head.bias", "head_dist.weight", "head_dist.bias")


def fit_position_embeddings(tensors, encoder, known_image_size, source):
    """`tensors` with `pos_embed` shaped for `encoder`: zero rows added for prefix tokens the checkpoint
    gave no position (timm's `no_embed_class`, big_vision), and the patch rows resampled (bicubic) from the
    checkpoint's grid to the encoder's. Anything that still does not fit is left for the mismatch report."""
    if "pos_embed" not in tensors or encoder.position_embedding == "none":
        return tensors
    num_prefix = int("cls_token" in tensors) + int("dist_token" in tensors)
    patch_weight = tensors.get("patch_embed.proj.weight")
    patch_size = tuple(patch_weight.shape[2:]) if patch_weight is not None else encoder.patch_size
    grid = position_grid(tensors, num_prefix, patch_size, known_image_size, encoder.grid_size, source)
    table = tensors["pos_embed"]
    if num_prefix and table.shape[1] == grid[0] * grid[1]:
        table = np.concatenate([np.zeros((1, num_prefix, table.shape[2]), table.dtype), table], axis=1)
    if tuple(grid) != tuple(encoder.grid_size):
        table = resample_position_table(table, num_prefix, grid, encoder.grid_size)
    return {**tensors, "pos_embed": table}


def _load_into(model, checkpoint, skip=()):
    entries = [entry for entry in model_entries(model) if entry.key not in skip]
    tensors = {key: value for key, value in checkpoint.tensors.items() if key not in skip}
    tensors = fit_position_embeddings(tensors, model.patch_encoder, checkpoint.fields.get("image_size"), checkpoint.source)
    assign(entries, tensors, checkpoint.source)


def load_weights(model, path):
    """Load a checkpoint (any format `load_checkpoint` reads) into an existing `VisionTransformer`; returns it.

    Every model weight must have a tensor of the right shape and every tensor a weight, else a
    `ValueError` lists the missing, unexpected and wrongly shaped tensors by name, and nothing is
    assigned. Position embeddings trained on another patch grid are resampled (bicubic) to the model's.
    The model keeps its own `input_normalization`.
    """
    _load_into(model, read_checkpoint(path))
    return model


def _default_image_size(checkpoint, fields, source):
    tensors = checkpoint.tensors
    num_prefix = int(fields["class_token"]) + int(fields["distillation_token"])
    known = checkpoint.fields.get("image_size")
    grid = position_grid(tensors, num_prefix, fields["patch_size"], known, None, source)
    if grid is None:
        if known is None:
            raise ValueError(f"{source} has no position embeddings or recorded image size; pass image_size=.")
        return known
    patch = to_pair(fields["patch_size"], "patch_size")
    return (grid[0] * patch[0], grid[1] * patch[1])


def load_checkpoint(path, name=None, *, num_classes=None, image_size=None, input_normalization=None, class_names=None):
    """Build a `VisionTransformer` with a checkpoint's weights.

    Args:
        path: a timm or transformers state dict (`.safetensors`; `.pth`/`.pt`/`.bin` through
            `torch.load(weights_only=True)`, never unpickling other objects), a transformers ViT/DeiT
            folder (`config.json` + `model.safetensors` or `pytorch_model.bin`), or a Google ViT /
            big_vision `.npz`.
        name: a config from `list_configs()`; the checkpoint must then fit it. Without it the
            architecture is read from the file (see `keras_vit.checkpoints.architecture`).
        num_classes: a new classification head of this size, initialized to zeros (big_vision's
            fine-tuning convention: the first logits are all 0). None keeps the checkpoint's head, or
            builds a headless model (`include_top=False`) when it has none.
        image_size: int or `(h, w)`; position embeddings are resampled (bicubic over the patch grid,
            prefix tokens kept) from the checkpoint's grid. Default: the checkpoint's.
        input_normalization: `(mean, std)` the weights expect (see `VisionTransformer`); default: what
            the file records (keras_vit's metadata, transformers' `preprocessor_config.json`), else none
            (inputs scaled to [0, 1]).
        class_names: the names of the classes, in label order.

    The model takes raw pixels in [0, 255] and applies the normalization itself.
    Raises `ValueError` listing missing, unexpected and wrongly shaped tensors when the file does not
    fit the architecture.
    """
    if num_classes is not None:
        check_num_classes(num_classes)
    if image_size is not None:
        image_size = to_pair(image_size, "image_size")
    checkpoint = read_checkpoint(path)
    fields = infer_fields(checkpoint.tensors, checkpoint.fields, checkpoint.source) if name is None else {}
    if image_size is None:
        image_size = get_config(name).image_size if name else _default_image_size(checkpoint, fields, checkpoint.source)
    checkpoint_classes = num_classes_of(checkpoint.tensors)
    classes = checkpoint_classes if num_classes is None else num_classes
    config = resolve_config(name, image_size=image_size, **fields)
    model = VisionTransformer(
        config,
        classes,
        include_top=classes is not None,
        class_names=class_names,
        input_normalization=checkpoint.input_normalization if input_normalization is None else input_normalization,
        name=name if describes(name, config) else None,
    )
    new_head = num_classes is not None and num_classes != checkpoint_classes
    _load_into(model, checkpoint, skip=HEAD_KEYS if new_head else ())
    if new_head:
        for head in model.heads:
            for variable in head.weights:
                variable.assign(keras.ops.zeros(variable.shape, variable.dtype))
    return model
