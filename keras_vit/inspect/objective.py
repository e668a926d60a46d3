"""The loss of a classifier on fixed data, as a function of its trainable weights (no autodiff here).

What the Hessian and loss-landscape analyses differentiate or evaluate: `L(w) = mean over the examples
of loss(labels, model(images; w))`, the model run in inference mode (BatchNorm on its moving
statistics, no dropout) through `model.stateless_call`, so no variable of the model is ever written.
The data are split into batches of `batch_size` and each batch's mean loss is weighted by its share of
the examples: the result is the loss (and Hessian) of the whole set, whatever the batch size.
"""

import keras
import numpy as np

from keras_vit.checks import check_choice, check_positive_int
from keras_vit.inspect.model_parts import check_images

DTYPES = ("float32", "float64")


def check_labels(model, labels, num_images):
    """`labels` as a numpy array: `(B,)` class indices, or `(B, num_classes)` one-hot / soft labels."""
    labels = np.asarray(labels)
    num_classes = model.output_shape[-1]
    if labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        if bad.size:
            raise ValueError(f"Labels {sorted(set(bad.tolist()))} are out of range for a model with {num_classes} "
                             f"classes (valid: 0 .. {num_classes - 1}).")
    elif not (labels.ndim == 2 and labels.shape[1] == num_classes and np.issubdtype(labels.dtype, np.number)):
        raise ValueError(
            f"Labels must be class indices (B,) as ints or one-hot rows (B, {num_classes}); got an array of shape "
            f"{labels.shape} and dtype {labels.dtype}."
        )
    if len(labels) != num_images:
        raise ValueError(f"Got {len(labels)} labels for {num_images} images; give one label per image.")
    return labels


def loss_function(model, labels):
    """`(labels, logits) -> scalar loss`: the model's compiled loss, or cross-entropy on logits (sparse for
    class indices, categorical for one-hot rows) for a model compiled without one.

    A `keras.losses.Loss` is applied through its `call` (the per-example losses), then reduced as it
    says: its `__call__` would first cast the logits to its own dtype (float32), losing a float64 analysis.
    """
    loss = getattr(model, "loss", None) if getattr(model, "compiled", False) else None
    if loss is None:
        kind = keras.losses.SparseCategoricalCrossentropy if labels.ndim == 1 else keras.losses.CategoricalCrossentropy
        loss = kind(from_logits=True)
    if isinstance(loss, (list, tuple, dict)):
        raise ValueError(f"Model {model.name!r} is compiled with several losses ({loss!r}); the Hessian analyses "
                         "take a classifier with one output and one loss.")
    loss = keras.losses.get(loss)
    per_example = loss.call if isinstance(loss, keras.losses.Loss) else loss
    reduce = keras.ops.sum if getattr(loss, "reduction", None) == "sum" else keras.ops.mean
    return lambda y, logits: reduce(per_example(y, logits))


def with_dtype(model, dtype):
    """`model`, or when any of its layers computes or stores weights in another dtype than `dtype`
    (mixed precision, a float32 head, a float64 analysis), a copy whose every layer uses `dtype`, with
    the same weights. The copy is a plain functional model over new layers; `model` is untouched."""
    # A layer's sublayers (a block's Dense layers) are built with its dtype policy: the top level tells.
    weights = model.trainable_variables + model.non_trainable_variables  # not the int seed-generator states
    if all(layer.compute_dtype == dtype for layer in model.layers) and all(
        v.dtype == dtype for v in weights if "float" in v.dtype
    ):
        return model

    def rebuilt(layer):
        return type(layer).from_config({**layer.get_config(), "dtype": dtype})

    copy = keras.models.clone_model(model, clone_function=rebuilt)
    copy.set_weights(model.get_weights())
    return copy


class Objective:
    """`L(w)`, the mean loss of `model` on `(images, labels)` as a function of the trainable weights `w`.

    Args:
        model: a Keras classifier with one output of logits `(B, num_classes)` (any keras_vit model,
            which takes raw pixels, or any functional / sequential Keras model).
        images: `(B, H, W, C)` as the model takes them.
        labels: `(B,)` class indices or `(B, num_classes)` one-hot rows.
        batch_size: examples per forward pass (None: all at once); the value of `L` does not depend on it.
        dtype: "float32" or "float64" (TensorFlow only), the precision of every layer, weight and product.

    Attributes: `model` (the model evaluated, a float64 copy where needed), `shapes` of the trainable
    weights, `size` (their number), `weights` (their values, flattened to one float64 vector `w0`),
    `batches` (a list of `(images, labels, share)` with backend tensors).
    """

    def __init__(self, model, images, labels, *, batch_size=None, dtype="float32"):
        check_choice(dtype, "dtype", DTYPES)
        images = check_images(model, images)
        labels = check_labels(model, labels, len(images))
        batch_size = len(images) if batch_size is None else check_positive_int(batch_size, "batch_size")
        if not model.trainable_variables:
            raise ValueError(f"Model {model.name!r} has no trainable weights: its Hessian is empty.")
        if dtype == "float64" and keras.backend.backend() != "tensorflow":
            # keras.backend.result_type maps float64 to float32 outside TensorFlow (JAX's default), and
            # keras.ops.matmul casts to it: the products would silently run in float32.
            raise ValueError(f"dtype='float64' needs the tensorflow backend: on {keras.backend.backend()}, Keras "
                             "computes matrix products of float64 tensors in float32. Use dtype='float32' here.")
        self.dtype = dtype
        self.loss = loss_function(model, labels)
        self.model = with_dtype(model, dtype)
        self.shapes = [tuple(variable.shape) for variable in self.model.trainable_variables]
        self.size = int(sum(np.prod(shape, dtype="int64") for shape in self.shapes))
        self.weights = self.flatten(self.model.trainable_variables)
        self.non_trainable = [variable.value for variable in self.model.non_trainable_variables]
        label_dtype = "int32" if labels.ndim == 1 else dtype
        self.batches = [
            (keras.ops.convert_to_tensor(images[start : start + batch_size], dtype),
             keras.ops.convert_to_tensor(labels[start : start + batch_size], label_dtype),
             len(images[start : start + batch_size]) / len(images))
            for start in range(0, len(images), batch_size)
        ]  # fmt: skip

    def batch_loss(self, values, images, labels):
        """The mean loss of one batch at trainable weights `values` (backend tensors, one per weight)."""
        logits, _ = self.model.stateless_call(values, self.non_trainable, images, training=False)
        return self.loss(labels, logits)

    def batch_logits(self, values, images):
        logits, _ = self.model.stateless_call(values, self.non_trainable, images, training=False)
        return logits

    def flatten(self, tensors):
        """Backend tensors or variables, one per trainable weight -> one float64 numpy vector."""
        return np.concatenate([np.asarray(keras.ops.convert_to_numpy(t), "float64").ravel() for t in tensors])

    def split(self, vector):
        """One vector of `size` numbers -> numpy arrays of the trainable weights' shapes."""
        vector = np.asarray(vector)
        if vector.shape != (self.size,):
            raise ValueError(f"A vector over the trainable weights must have shape ({self.size},); got {vector.shape}.")
        ends = np.cumsum([np.prod(shape, dtype="int64") for shape in self.shapes])
        return [part.reshape(shape) for part, shape in zip(np.split(vector, ends[:-1]), self.shapes)]

    def unflatten(self, vector):
        """One vector of `size` numbers -> backend tensors of the trainable weights' shapes, in `dtype`."""
        return [keras.ops.convert_to_tensor(part, self.dtype) for part in self.split(vector)]

    def loss_and_accuracy(self, weights):
        """`(L(weights), accuracy)` for a flat float64 weight vector (no gradient)."""
        values = self.unflatten(weights)
        loss = accuracy = 0.0
        for images, labels, share in self.batches:
            logits = self.batch_logits(values, images)
            loss += share * float(keras.ops.convert_to_numpy(self.loss(labels, logits)))
            predicted = np.argmax(keras.ops.convert_to_numpy(logits), axis=-1)
            labels = keras.ops.convert_to_numpy(labels)
            accuracy += share * float(np.mean(predicted == (labels if labels.ndim == 1 else labels.argmax(-1))))
        return loss, accuracy
