"""Finding the parts of a built ViT or DeiT that checkpoints, analyses and optimizers read."""

from keras_vit.layers import PatchEncoder, TransformerBlock


def patch_encoder_of(model):
    """The model's one top-level `PatchEncoder` (patch size, grid, prefix tokens, position embeddings)."""
    encoders = [layer for layer in model.layers if isinstance(layer, PatchEncoder)]
    if len(encoders) != 1:
        raise ValueError(
            f"Model {model.name!r} has {len(encoders)} PatchEncoder layers at its top level; "
            "it needs exactly one (a keras_vit ViT or DeiT)."
        )
    return encoders[0]


def transformer_blocks_of(model, needed_by):
    """The model's top-level `TransformerBlock` layers in call order; an error naming `needed_by` if none."""
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerBlock)]
    if not blocks:
        raise ValueError(
            f"{needed_by} needs a model with TransformerBlock layers at its top level (a keras_vit ViT or DeiT); "
            f"model {model.name!r} has none. Its layers: {', '.join(layer.name for layer in model.layers)}."
        )
    return blocks
