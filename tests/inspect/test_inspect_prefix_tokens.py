"""Register tokens (DINOv2 `_reg`) are prefix tokens, not patches: attention maps, rollout, distances, position
similarity and the Fourier analysis skip them as they skip the CLS token; SigLIP's attention pool has no CLS row."""

import json

import keras
import numpy as np

from keras_vit import build_vit
from keras_vit.inspect import (
    attention_weights,
    feature_maps,
    mean_attention_distance,
    patch_distances,
    rollout_steps,
    write_report,
)


def _peaked(model):
    """Larger Q/K weights than the initializer's: peaked, image-dependent attention."""
    for block in model.blocks:
        kernel = block.attn.qkv.kernel
        kernel.assign(keras.ops.convert_to_numpy(kernel) * 4.0)
    return model


def test_register_tokens_are_skipped_as_the_cls_token_is(tiny, images, tmp_path):
    model = _peaked(build_vit(num_classes=5, reg_tokens=2, no_embed_class=True, init_values=0.5, **tiny))
    for variable in (model.patch_encoder.reg_token, model.patch_encoder.cls_token):  # tokens that draw attention
        variable.assign(np.random.default_rng(0).normal(0, 2.0, variable.shape).astype("float32"))
    prefix = model.patch_encoder.num_prefix_tokens

    weights = attention_weights(model, images)
    write_report(model, images, tmp_path)
    numbers = np.load(tmp_path / "numbers.npz")

    assert prefix == 3 and weights.shape == (2, 3, 4, 19, 19)
    assert weights[..., 3:, 1:3].sum(-1).mean() > 0.01  # the patches do attend to the registers
    # Distances: patch queries over patch keys, re-normalized, the registers left out as the CLS token is.
    patch = weights[..., prefix:, prefix:].astype("float64")
    per_query = (patch * patch_distances((4, 4), (4, 4))).sum(-1) / patch.sum(-1)
    np.testing.assert_allclose(mean_attention_distance(model, images), per_query.mean(axis=(1, 3)), rtol=1e-5)
    # Maps: the CLS row over the 16 patch keys, not over the registers.
    np.testing.assert_allclose(numbers["attention_maps"], weights[-1][:, :, 0, prefix:].reshape(3, 4, 4, 4), atol=1e-6)
    steps = rollout_steps(weights)
    np.testing.assert_allclose(numbers["rollout_maps"], steps[-1][:, 0, prefix:].reshape(3, 4, 4), atol=1e-6)
    assert json.loads((tmp_path / "numbers.json").read_text())["num_prefix_tokens"] == 3
    # Position similarity: the table holds the 16 patches only (no_embed_class).
    table = keras.ops.convert_to_numpy(model.patch_encoder.position_embeddings)[0].astype("float64")
    unit = table / np.linalg.norm(table, axis=-1, keepdims=True)
    np.testing.assert_allclose(numbers["position_similarity"].reshape(16, 16), unit @ unit.T, atol=1e-6)
    # Fourier analysis: the tokens after the CLS token and the registers, laid on the patch grid.
    (block_map,) = feature_maps(model, images, [model.blocks[0].name])
    tokens = keras.ops.convert_to_numpy(keras.Model(model.input, model.blocks[0].output)(images))
    np.testing.assert_allclose(block_map, tokens[:, prefix:].reshape(3, 4, 4, 32), atol=1e-6)


def test_report_of_an_attention_pooled_model_without_cls_token(tiny, images, tmp_path):
    model = _peaked(build_vit(num_classes=5, class_token=False, pooling="map", activation="gelu_tanh", **tiny))

    write_report(model, images, tmp_path)

    numbers = np.load(tmp_path / "numbers.npz")
    assert numbers["attention_weights"].shape == (2, 3, 4, 16, 16)
    # No CLS row: the maps are the mean attention each patch receives in the last block.
    np.testing.assert_allclose(numbers["attention_maps"], numbers["attention_weights"][-1].mean(-2).reshape(3, 4, 4, 4))
