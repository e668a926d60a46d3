"""A tanh MLP with 280 weights, and its loss gradient and Hessian computed in float64 numpy.

The reference for the Hessian tests: the gradient is written out by hand (backpropagation), and the
Hessian is its central finite difference, column by column, accurate to about 1e-9 here. Nothing in it
goes through Keras or a backend's autodiff.
"""

import keras
import numpy as np

SHAPE, HIDDEN, CLASSES, EXAMPLES = (3, 3, 2), 12, 4, 16


def mlp():
    """`(B, 3, 3, 2)` -> 4 logits through one tanh layer of 12: 18*12 + 12 + 12*4 + 4 = 280 weights.
    Weights scaled up from the initializer's so the loss is clearly non-convex (negative eigenvalues)."""
    inputs = keras.Input(SHAPE)
    hidden = keras.layers.Dense(HIDDEN, activation="tanh", name="hidden")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(CLASSES, name="logits")(hidden), name="mlp")
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 1.0, w.shape).astype("float32") for w in model.get_weights()])
    return model


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(EXAMPLES, *SHAPE)).astype("float32"), rng.integers(0, CLASSES, EXAMPLES)


def _split(flat):
    sizes = [int(np.prod(SHAPE)) * HIDDEN, HIDDEN, HIDDEN * CLASSES, CLASSES]
    w1, b1, w2, b2 = np.split(flat, np.cumsum(sizes)[:-1])
    return w1.reshape(-1, HIDDEN), b1, w2.reshape(HIDDEN, CLASSES), b2


def flat_weights(model):
    return np.concatenate([np.asarray(w, "float64").ravel() for w in model.get_weights()])


def loss_and_gradient(flat, images, labels):
    """Mean cross-entropy of the MLP with weights `flat` (Keras' order) and its gradient, float64."""
    w1, b1, w2, b2 = _split(flat)
    x = images.reshape(len(images), -1).astype("float64")
    hidden = np.tanh(x @ w1 + b1)
    logits = hidden @ w2 + b2
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    loss = -np.mean(np.log(probabilities[np.arange(len(x)), labels]))
    d_logits = (probabilities - np.eye(CLASSES)[labels]) / len(x)
    d_hidden = (d_logits @ w2.T) * (1 - hidden**2)
    gradient = [x.T @ d_hidden, d_hidden.sum(0), hidden.T @ d_logits, d_logits.sum(0)]
    return loss, np.concatenate([g.ravel() for g in gradient])


def hessian(flat, images, labels, step=1e-5):
    """The Hessian by central differences of the gradient, symmetrized: `(280, 280)`."""
    columns = []
    for index in range(len(flat)):
        shift = np.zeros_like(flat)
        shift[index] = step
        plus, minus = (loss_and_gradient(flat + sign * shift, images, labels)[1] for sign in (1, -1))
        columns.append((plus - minus) / (2 * step))
    matrix = np.stack(columns, axis=1)
    return (matrix + matrix.T) / 2
