"""Finding the parts of a built ViT or DeiT that checkpoints, analyses and optimizers read."""

from keras_vit.layers import PatchEncoder


def patch_encoder_of(model):
    """The model's one top-level `PatchEncoder` (patch size, grid, prefix tokens, position embeddings)."""
    encoders = [layer for layer in model.layers if isinstance(layer, PatchEncoder)]
    if len(encoders) != 1:
        raise ValueError(
            f"Model {model.name!r} has {len(encoders)} PatchEncoder layers at its top level; "
            "it needs exactly one (a keras_vit ViT or DeiT)."
        )
    return encoders[0]
