"""Loss landscapes along filter-normalized directions: the model's own loss at 0, the right loss elsewhere."""

import keras
import numpy as np
import pytest
from hessian_reference import data, flat_weights, loss_and_gradient, mlp

import keras_vit
from keras_vit.inspect import filter_normalized_direction, loss_landscape
from keras_vit.inspect.objective import Objective


def test_one_direction_gives_the_models_loss_at_zero_and_the_moved_models_loss_elsewhere():
    model = mlp()
    images, labels = data()
    landscape = loss_landscape(model, images, labels, steps=5, distance=0.5, batch_size=6)
    np.testing.assert_array_equal(landscape["coordinates"], [-0.5, -0.25, 0.0, 0.25, 0.5])
    weights = flat_weights(model)
    assert landscape["loss"][2] == pytest.approx(loss_and_gradient(weights, images, labels)[0], rel=1e-6)
    predictions = np.argmax(keras.ops.convert_to_numpy(model(images)), axis=-1)
    assert landscape["accuracy"][2] == pytest.approx(np.mean(predictions == labels))
    direction = landscape["directions"][0]
    for coordinate, loss in zip(landscape["coordinates"], landscape["loss"]):
        assert loss == pytest.approx(loss_and_gradient(weights + coordinate * direction, images, labels)[0], rel=1e-5)
    assert landscape["loss"][0] != pytest.approx(landscape["loss"][2], rel=1e-2)


def test_two_directions_and_a_compiled_loss():
    model = mlp()
    images, labels = data()
    one_hot = np.eye(4)[labels]
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1))
    landscape = loss_landscape(model, images, one_hot, directions=2, steps=3)
    assert landscape["loss"].shape == (3, 3) and landscape["directions"].shape == (2, 280)
    assert landscape["loss"][1, 1] == pytest.approx(model.evaluate(images, one_hot, verbose=0), rel=1e-6)
    first, second = landscape["directions"]
    moved = flat_weights(model) + first - second  # the point (a, b) = (1, -1)
    smoothed = one_hot * 0.9 + 0.025
    reference = mlp()
    reference.set_weights(Objective(reference, images, labels).split(moved))
    logits = keras.ops.convert_to_numpy(reference(images)).astype("float64")
    log_probabilities = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert landscape["loss"][2, 0] == pytest.approx(-np.mean(np.sum(smoothed * log_probabilities, axis=1)), rel=1e-5)


def test_directions_are_filter_normalized_and_leave_biases_and_norms_alone():
    model = keras_vit.build_resnet(num_classes=5, image_size=16, widths=(4, 8), blocks_per_stage=1)
    objective = Objective(model, np.zeros((2, 16, 16, 3)), [0, 1])
    direction = objective.split(filter_normalized_direction(objective, np.random.default_rng(0)))
    for weight, part, variable in zip(objective.split(objective.weights), direction, model.trainable_variables):
        if weight.ndim <= 1:
            assert not part.any(), variable.path  # BatchNorm's gamma and beta, the head's bias
            continue
        # Every filter (a slice along the last axis: a convolution's output channel, a Dense unit) keeps the
        # norm of the same filter of the weights, so units move in proportion to their own scale.
        np.testing.assert_allclose(np.linalg.norm(part.reshape(-1, part.shape[-1]), axis=0),
                                   np.linalg.norm(weight.reshape(-1, weight.shape[-1]), axis=0), rtol=1e-6)  # fmt: skip
    assert any(part.ndim == 4 for part in direction)  # convolution kernels were among them


def test_bad_arguments_are_named():
    model = mlp()
    images, labels = data()
    with pytest.raises(ValueError, match="directions must be one of 1, 2; got 3"):
        loss_landscape(model, images, labels, directions=3)
    with pytest.raises(ValueError, match="steps must be at least 2"):
        loss_landscape(model, images, labels, steps=1)
    with pytest.raises(ValueError, match="distance must be a positive number; got -1"):
        loss_landscape(model, images, labels, distance=-1)
