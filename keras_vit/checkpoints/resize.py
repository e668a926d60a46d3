"""`resize_position_embeddings`: the same model for another image size."""

import dataclasses

import keras

from keras_vit.checkpoints.resample import resample_position_table
from keras_vit.checks import check_bool, check_divisible, to_pair
from keras_vit.models import VisionTransformer, get_config
from keras_vit.models.configs import describes
from keras_vit.models.vit import check_vision_transformer


def resize_position_embeddings(model, image_size, antialias=True):
    """A copy of the `VisionTransformer` `model` taking `image_size` images, with the same weights, class
    names and preprocessing, and its learned position embeddings resampled over the patch grid (prefix
    tokens' rows kept; identity at the same size). Fixed sincos2d tables are computed for the new grid.
    The original model is unchanged.

    `antialias=True` resamples as timm's `resample_abs_pos_embed` does by default (torch's antialiased
    bicubic); `antialias=False` as torch's plain bicubic (`keras_vit.checkpoints.resample`).
    """
    check_vision_transformer(model, "resize_position_embeddings")
    size = to_pair(image_size, "image_size")
    check_divisible(size, model.patch_encoder.patch_size)
    check_bool(antialias, "antialias")
    config = dataclasses.replace(model.config, image_size=get_config(None, image_size=size).image_size)
    name = None if describes(model.name, model.config) and not describes(model.name, config) else model.name
    resized = VisionTransformer.from_config({**model.get_config(), "config": dataclasses.asdict(config), "name": name})
    encoder, new_encoder = model.patch_encoder, resized.patch_encoder
    # Every part with weights, in the same order in both models.
    parts = [[layer for group in each.layer_groups() for layer in group] for each in (model, resized)]
    for old_layer, new_layer in zip(*parts):
        for old, new in zip(old_layer.weights, new_layer.weights):
            value = keras.ops.convert_to_numpy(old)
            if old is getattr(encoder, "position_embeddings", None):
                if encoder.position_embedding != "learned":
                    continue  # a fixed sincos2d table: the new encoder computed its own
                value = resample_position_table(
                    value, encoder.num_position_prefix_tokens, encoder.grid_size, new_encoder.grid_size, antialias
                )
            new.assign(value)
    return resized
