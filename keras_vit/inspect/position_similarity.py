"""Cosine similarity between the position embeddings of the patches (ViT paper, Fig. 7 centre)."""

import keras
import numpy as np

from keras_vit.models.vit import check_vision_transformer


def position_embedding_similarity(model):
    """Cosine similarity of each patch's position embedding with every other one.

    Returns `(gh, gw, gh, gw)`: `[i, j]` is the map of patch `(i, j)`'s similarity to all
    patches, so the diagonal `[i, j, i, j]` is 1. Prefix tokens' embeddings (CLS, distillation,
    registers), when the table has them, are left out.
    """
    encoder = check_vision_transformer(model, "Position embedding similarity").patch_encoder
    if encoder.position_embedding == "none":
        raise ValueError(f"Model {model.name!r} has position_embedding='none': there are no embeddings to compare.")
    table = keras.ops.convert_to_numpy(encoder.position_embeddings)[0].astype("float64")
    table = table[encoder.num_position_prefix_tokens :]  # a learned table's prefix rows (none: no_embed_class)
    table /= np.maximum(np.linalg.norm(table, axis=-1, keepdims=True), np.finfo("float64").tiny)
    return (table @ table.T).reshape(encoder.grid_size + encoder.grid_size)
