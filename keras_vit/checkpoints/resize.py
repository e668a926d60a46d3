"""`resize_position_embeddings`: the same model for another image size."""

import keras

from keras_vit.checkpoints.architecture import encoder_image_size
from keras_vit.checkpoints.load import fit_position_embeddings
from keras_vit.checkpoints.timm_layout import assign, model_entries, model_to_timm
from keras_vit.layers.validation import check_divisible, to_pair
from keras_vit.models.parts import patch_encoder_of


def resize_position_embeddings(model, image_size):
    """A copy of the functional `model` taking `image_size` images, with the same weights and its learned
    position embeddings resampled (bicubic over the patch grid, prefix tokens kept; identity at the same
    size). Fixed sincos2d tables are recomputed for the new grid. The original model is unchanged.
    """
    encoder = patch_encoder_of(model)
    height, width = to_pair(image_size, "image_size")
    check_divisible((height, width), encoder.patch_size)
    if len(model.inputs) != 1:
        raise ValueError(f"Model {model.name!r} has {len(model.inputs)} inputs; resizing needs a single image input.")
    old_input = model.inputs[0]
    new_input = keras.Input((height, width, old_input.shape[-1]), name=old_input.name)
    resized = keras.models.clone_model(model, input_tensors=new_input)
    tensors = model_to_timm(model)
    entries = model_entries(resized)
    if encoder.position_embedding == "sincos2d":
        tensors.pop("pos_embed")
        entries = [entry for entry in entries if entry.key != "pos_embed"]
    tensors = fit_position_embeddings(tensors, patch_encoder_of(resized), encoder_image_size(encoder), model.name)
    assign(entries, tensors, f"model {model.name!r}")
    return resized
