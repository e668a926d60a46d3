"""Loss landscapes along filter-normalized random directions (Li et al., "Visualizing the Loss Landscape
of Neural Nets", NeurIPS 2018), as Park & Kim draw them to compare ViTs with CNNs."""

import numpy as np

from keras_vit.checks import check_choice, check_positive_int, check_positive_number
from keras_vit.inspect.objective import Objective


def filter_normalized_direction(objective, rng):
    """A random direction over the trainable weights, flat float64 `(objective.size,)`.

    Gaussian, then each filter rescaled to the norm of the same filter of the weights: a filter is a
    slice along the last axis (a Dense unit's or a convolution's output channel in Keras' layouts), so
    every unit moves in proportion to its own scale and the landscapes of differently scaled networks
    compare. Weights with at most one axis (biases, normalization scales and offsets) get no direction,
    as in Li et al.'s recommended setting.
    """
    parts = []
    for weight in objective.split(objective.weights):
        if weight.ndim <= 1:
            parts.append(np.zeros(weight.size))
            continue
        weight = weight.reshape(-1, weight.shape[-1])
        direction = rng.standard_normal(weight.shape)
        direction *= np.linalg.norm(weight, axis=0) / np.maximum(np.linalg.norm(direction, axis=0), 1e-12)
        parts.append(direction.ravel())
    return np.concatenate(parts)


def loss_landscape(model, images, labels, directions=1, *, distance=1.0, steps=21, batch_size=None,
                   dtype="float32", seed=0):  # fmt: skip
    """The loss (and accuracy) along 1 or 2 filter-normalized random directions through the model's weights.

    Evaluates `L(w0 + a d1)` (or `L(w0 + a d1 + b d2)`) for `a` (and `b`) on `steps` evenly spaced
    points from `-distance` to `distance`, `w0` the trained weights and `d1`, `d2` independent
    directions of `filter_normalized_direction`; distance 1 moves every filter by its own norm. An
    odd `steps` puts 0 on the grid, where the loss is the model's own. The model runs in inference
    mode; no weight of it changes. Arguments as in `hessian_eigenvalues`.

    Returns a dict: `coordinates` `(steps,)`; `loss` and `accuracy`, `(steps,)` for one direction or
    `(steps, steps)` indexed `[a, b]` for two; `directions` `(1 or 2, num_weights)`.
    """
    objective = Objective(model, images, labels, batch_size=batch_size, dtype=dtype)
    return landscape_of(objective, directions, distance, steps, seed)


def landscape_of(objective, directions=1, distance=1.0, steps=21, seed=0):
    """`loss_landscape` of an `Objective`."""
    check_choice(directions, "directions", (1, 2))
    check_positive_number(distance, "distance")
    if check_positive_int(steps, "steps") < 2:
        raise ValueError(f"steps must be at least 2 (points along each direction); got {steps}.")
    rng = np.random.default_rng(seed)
    vectors = np.stack([filter_normalized_direction(objective, rng) for _ in range(directions)])
    # Integer steps, then scaled: the middle point of an odd grid is exactly 0.
    coordinates = distance * (2 * np.arange(steps) - (steps - 1)) / (steps - 1)
    grid = np.stack(np.meshgrid(*[coordinates] * directions, indexing="ij"), axis=-1).reshape(-1, directions)
    results = np.array([objective.loss_and_accuracy(objective.weights + point @ vectors) for point in grid])
    shape = (steps,) * directions
    return {
        "coordinates": coordinates,
        "loss": results[:, 0].reshape(shape),
        "accuracy": results[:, 1].reshape(shape),
        "directions": vectors,
    }
