"""Every tool that reads a model's parts refuses, by name, a model that does not declare them."""

import keras
import pytest

import keras_vit
from keras_vit.training import layer_decay_multipliers


@pytest.fixture
def cnn():
    images = keras.Input((8, 8, 3))
    features = keras.layers.GlobalAveragePooling2D(name="pool")(keras.layers.Conv2D(4, 3, name="conv")(images))
    return keras.Model(images, keras.layers.Dense(2, name="head")(features), name="cnn")


@pytest.mark.parametrize(
    "reader, message",
    [
        (keras_vit.inspect.attention_model, "Attention inspection needs a keras_vit VisionTransformer"),
        (keras_vit.inspect.position_embedding_similarity, "Position embedding similarity needs a keras_vit"),
        (lambda model: keras_vit.resize_position_embeddings(model, 16), "resize_position_embeddings needs a keras_vit"),
        (lambda model: keras_vit.save_checkpoint(model, "/tmp/x.safetensors"), "A timm-layout checkpoint needs"),
        (lambda model: layer_decay_multipliers(model, 0.75), "Layer-wise learning-rate decay needs"),
        (keras_vit.flops, "flops expects a ViTConfig or SwinConfig, a config name .* or a VisionTransformer"),
    ],
)
def test_every_reader_names_itself_and_what_it_needs(cnn, reader, message):
    with pytest.raises(ValueError, match=message):
        reader(cnn)


def test_the_fourier_analysis_asks_for_layer_names_of_a_model_that_declares_no_feature_layers(cnn):
    with pytest.raises(ValueError, match=r"declares no feature_layers \(it is not a keras_vit model\); pass layer_names.*conv, pool, head"):
        keras_vit.inspect.frequency_analysis(cnn, keras.ops.zeros((1, 8, 8, 3)))
