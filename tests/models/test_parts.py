import keras
import pytest

import keras_vit
from keras_vit.models.parts import transformer_blocks_of
from keras_vit.performance import fast_training_model
from keras_vit.training.layer_decay import layer_decay_multipliers


def test_blocks_come_in_call_order(tiny):
    model = keras_vit.build_vit(num_classes=3, **tiny)
    assert [block.name for block in transformer_blocks_of(model, "test")] == ["block_0", "block_1"]


@pytest.mark.parametrize(
    "reader, needed_by",
    [
        (lambda model: transformer_blocks_of(model, "My analysis"), "My analysis"),
        (keras_vit.inspect.attention_model, "Attention inspection"),
        (lambda model: layer_decay_multipliers(model, 0.75), "Layer decay"),
        (fast_training_model, "fast_training_model"),
    ],
)
def test_every_reader_names_itself_and_the_layers_when_a_model_has_no_blocks(reader, needed_by):
    images = keras.Input((8, 8, 3))
    features = keras.layers.GlobalAveragePooling2D(name="pool")(keras.layers.Conv2D(4, 3, name="conv")(images))
    cnn = keras.Model(images, keras.layers.Dense(2, name="head")(features), name="cnn")
    with pytest.raises(ValueError, match=f"{needed_by} needs a model with TransformerBlock layers .* model 'cnn' has none. "
                                         "Its layers: input_layer.*, conv, pool, head"):
        reader(cnn)
