import keras
import numpy as np
import pytest
from keras import ops

import keras_vit
from keras_vit.layers import PatchEncoder, TransformerBlock


def test_logits_shape_and_layer_names(tiny, images):
    model = keras_vit.build_vit(num_classes=7, **tiny)
    assert ops.convert_to_numpy(model(images)).shape == (3, 7)
    names = [layer.name for layer in model.layers]
    assert names == [
        "images", "preprocessing", "patch_encoder", "block_0", "block_1", "norm", "pool", "head_dropout", "head"
    ]  # fmt: skip
    assert model.head.dtype_policy.name == "float32"


def test_named_config_forward_on_small_images():
    model = keras_vit.build_vit("vit_tiny_patch4_28", num_classes=10, depth=1)
    assert model.input_shape == (None, 28, 28, 1)
    assert model(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 10)


def test_include_top_false_returns_pooled_features(tiny, images):
    model = keras_vit.build_vit(num_classes=None, include_top=False, **tiny)
    assert model(images).shape == (3, 32)


def test_gap_pooling_averages_patch_tokens(tiny, images):
    model = keras_vit.build_vit(num_classes=None, include_top=False, pooling="gap", **tiny)
    features = ops.convert_to_numpy(model(images))
    token_model = keras.Model(model.input, model.norm.output)
    expected = ops.convert_to_numpy(token_model(images))[:, 1:].mean(axis=1)
    np.testing.assert_allclose(features, expected, atol=1e-5)


def test_gap_without_class_token(tiny, images):
    model = keras_vit.build_vit(num_classes=3, pooling="gap", class_token=False, **tiny)
    assert model.patch_encoder.num_prefix_tokens == 0
    assert model(images).shape == (3, 3)


def test_rectangular_images_and_patches():
    model = keras_vit.build_vit(
        num_classes=4, image_size=(12, 20), patch_size=(3, 5), dim=16, depth=1, num_heads=2, mlp_dim=16
    )
    assert model.patch_encoder.grid_size == (4, 4)
    assert model(np.zeros((2, 12, 20, 3), "float32")).shape == (2, 4)


def test_drop_path_rises_linearly_with_depth(tiny):
    model = keras_vit.build_vit(num_classes=2, drop_path_rate=0.3, **{**tiny, "depth": 4})
    rates = [block.drop_path for block in model.blocks]
    np.testing.assert_allclose(rates, [0.0, 0.1, 0.2, 0.3])


def test_regularization_switches_reach_the_layers(tiny):
    model = keras_vit.build_vit(
        num_classes=2, dropout=0.1, attention_dropout=0.2, init_values=1e-4, qk_norm=True,
        position_embedding="sincos2d", patch_embedding="linear", **tiny,
    )
    encoder = model.patch_encoder
    block = model.blocks[1]
    assert isinstance(encoder, PatchEncoder) and isinstance(block, TransformerBlock)
    assert (encoder.position_embedding, encoder.patch_embedding, encoder.dropout) == ("sincos2d", "linear", 0.1)
    assert (block.dropout, block.attention_dropout, block.init_values, block.qk_norm) == (0.1, 0.2, 1e-4, True)
    assert model.head_dropout.rate == 0.1


def test_dynamic_batch(tiny):
    model = keras_vit.build_vit(num_classes=5, **tiny)
    for batch in (1, 7):
        assert model(np.zeros((batch, 16, 16, 3), "float32")).shape == (batch, 5)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"image_size": 18}, "18x18 is not divisible by patch size 4x4"),
        ({"num_heads": 5}, "dim=32 is not divisible by num_heads=5"),
        ({"depth": 0}, "depth must be a positive int; got 0"),
        ({"dim": -8}, "dim must be a positive int; got -8"),
        ({"image_size": 0}, "image_size must be a positive int or a pair"),
        ({"patch_size": (4, -4)}, "patch_size must be a positive int or a pair"),
        ({"pooling": "max"}, "pooling must be one of 'token', 'gap', 'map'; got 'max'"),
        ({"position_embedding": "rope"}, "position_embedding must be one of 'learned', 'sincos2d', 'none'; got 'rope'"),
        ({"pooling": "token", "class_token": False}, "pooling='token' needs class_token=True"),
        ({"drop_path_rate": 1.0}, r"drop_path_rate must be a number in \[0, 1\)"),
        ({"patch_embedding": "conv_stem", "patch_size": 3, "image_size": 15}, "square power-of-two patch_size"),
    ],
)
def test_build_time_errors(tiny, overrides, message):
    with pytest.raises(ValueError, match=message):
        keras_vit.build_vit(num_classes=3, **{**tiny, **overrides})


def test_conv_stem_trains_its_convolutions_and_batch_statistics(tiny, images):
    model = keras_vit.build_vit(num_classes=3, patch_embedding="conv_stem", **tiny)
    stem = model.patch_encoder.stem
    kernel, mean = (keras.ops.convert_to_numpy(w) for w in (stem.convs[0].kernel, stem.norms[0].moving_mean))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images, np.array([0, 1, 2]), epochs=2, verbose=0)
    assert not np.allclose(keras.ops.convert_to_numpy(stem.convs[0].kernel), kernel)
    assert not np.allclose(keras.ops.convert_to_numpy(stem.norms[0].moving_mean), mean)


@pytest.mark.parametrize("num_classes", [None, 0, 2.0])
def test_num_classes_must_be_positive_with_a_head(tiny, num_classes):
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        keras_vit.build_vit(num_classes=num_classes, **tiny)


@pytest.mark.parametrize("shape", [(2, 16, 16, 1), (2, 16, 16), (2, 20, 20, 3)])
def test_call_time_errors_name_expected_and_found_shapes(tiny, shape):
    model = keras_vit.build_vit(num_classes=3, **tiny)
    found = ", ".join(map(str, shape))  # torch prints it as torch.Size([...])
    with pytest.raises(ValueError, match=rf"(?s)(xpected shape.?\(None, 16, 16, 3\)|\(B, 16, 16, 3\)).*shape.?\S*[(\[]{found}[)\]]"):
        model(np.zeros(shape, "float32"))
