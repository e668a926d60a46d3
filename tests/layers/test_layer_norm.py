import keras
import numpy as np
import pytest
from keras import ops

from keras_vit.layers import LayerNorm


def paired_models():
    """The same Dense-LayerNorm-Dense model with keras_vit's LayerNorm and with Keras' layer, equal weights."""
    models = []
    for norm in (LayerNorm(epsilon=1e-6, name="norm"), keras.layers.LayerNormalization(epsilon=1e-6, name="norm")):
        inputs = keras.Input((5, 8))
        models.append(keras.Model(inputs, keras.layers.Dense(3)(norm(keras.layers.Dense(8)(inputs)))))
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=w.shape).astype("float32") for w in models[0].weights]
    for model in models:
        model.set_weights(weights)
    return models


def test_layer_norm_matches_keras_layer_normalization_in_outputs_and_training():
    ours, keras_own = paired_models()
    x = np.random.default_rng(1).normal(3.0, 2.0, size=(4, 5, 8)).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(ours(x)), ops.convert_to_numpy(keras_own(x)), atol=2e-6)
    y = np.random.default_rng(2).normal(size=(4, 5, 3)).astype("float32")
    for model in (ours, keras_own):
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    for trained, reference in zip(ours.get_weights(), keras_own.get_weights()):  # equal gradients, every weight
        np.testing.assert_allclose(trained, reference, atol=2e-6)


@pytest.mark.parametrize("training", [False, True])
def test_layer_norm_normalizes_the_last_axis(training):
    norm = LayerNorm(epsilon=1e-6)
    x = np.random.default_rng(3).normal(5.0, 3.0, size=(2, 7, 16)).astype("float32")
    norm.build(x.shape)
    norm.set_weights([np.full(16, 2.0, "float32"), np.full(16, 0.5, "float32")])
    expected = 2.0 * (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-6) + 0.5
    np.testing.assert_allclose(ops.convert_to_numpy(norm(x, training=training)), expected, atol=1e-5)


def test_layer_norm_under_mixed_precision_keeps_float32_weights():
    norm = LayerNorm(dtype="mixed_bfloat16")
    out = norm(np.ones((2, 3, 4), "float32"))
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert {w.dtype for w in norm.weights} == {"float32"}


def test_layer_norm_config_round_trip():
    norm = LayerNorm(epsilon=1e-5, name="n")
    restored = LayerNorm.from_config(norm.get_config())
    assert restored.get_config() == norm.get_config()
    assert keras.saving.get_registered_name(LayerNorm) == "keras_vit>LayerNorm"


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")  # Keras' deprecation, before our error
@pytest.mark.parametrize(
    "options, named", [(dict(axis=1), "axis=1"), (dict(center=False), "center=False"), (dict(rms_scaling=True), "rms_scaling=True")]
)
def test_layer_norm_rejects_other_forms(options, named):
    with pytest.raises(ValueError, match=f"last axis with a learned scale and offset; got .*{named}.*keras.layers.LayerNormalization"):
        LayerNorm(**options)
