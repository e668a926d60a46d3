"""Gradients and Hessian-vector products of an `Objective`, with each backend's own autodiff.

The one module of `keras_vit.inspect` that is backend-specific, because second derivatives are: Keras
has no backend-neutral API for them. Each backend differentiates the same function,
`Objective.batch_loss(weights, images, labels)` (a `stateless_call` of the model, so no variable is
written):
- JAX: forward-over-reverse, `jax.jvp` of `jax.grad` (the cheapest HVP), compiled with `jax.jit`;
- torch: double backward, `torch.autograd.grad` with `create_graph=True`, then a second
  `autograd.grad` against the vector; attention runs on PyTorch's math kernel, as its fused CPU
  kernels have no second derivative;
- TensorFlow: two nested `tf.GradientTape`s, in a `tf.function`.
An HVP costs a small multiple of a gradient (`benchmarks/hvp_cost.py` measures it on each backend). Everything
above this module (eigenvalues, trace, density) works on flat float64 numpy vectors.
"""

import keras
import numpy as np


def _jax_functions(objective):
    import jax

    def loss(values, images, labels):
        return objective.batch_loss(values, images, labels)

    gradient = jax.grad(loss)

    def hvp(values, vector, images, labels):
        return jax.jvp(lambda point: gradient(point, images, labels), (values,), (vector,))[1]

    return jax.jit(gradient), jax.jit(hvp)


def _tensorflow_functions(objective):
    import tensorflow as tf

    zero = tf.UnconnectedGradients.ZERO  # a weight the loss does not reach has a zero row of the Hessian

    @tf.function(reduce_retracing=True)
    def gradient(values, images, labels):
        with tf.GradientTape() as tape:
            tape.watch(values)
            loss = objective.batch_loss(values, images, labels)
        return tape.gradient(loss, values, unconnected_gradients=zero)

    @tf.function(reduce_retracing=True)
    def hvp(values, vector, images, labels):
        with tf.GradientTape() as outer:
            outer.watch(values)
            with tf.GradientTape() as inner:
                inner.watch(values)
                loss = objective.batch_loss(values, images, labels)
            grads = inner.gradient(loss, values, unconnected_gradients=zero)
        return outer.gradient(grads, values, output_gradients=vector, unconnected_gradients=zero)

    return gradient, hvp


def _torch_math_attention():
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(SDPBackend.MATH)


def _torch_functions(objective):
    import torch

    def leaves(values):
        return [value.detach().requires_grad_(True) for value in values]

    def zeros_for_none(grads, values):
        return [torch.zeros_like(v) if g is None else g for g, v in zip(grads, values)]

    def gradient(values, images, labels):
        values = leaves(values)
        with _torch_math_attention():
            loss = objective.batch_loss(values, images, labels)
            grads = torch.autograd.grad(loss, values, allow_unused=True)
        return [g.detach() for g in zeros_for_none(grads, values)]

    def hvp(values, vector, images, labels):
        values = leaves(values)
        with _torch_math_attention():
            loss = objective.batch_loss(values, images, labels)
            grads = zeros_for_none(torch.autograd.grad(loss, values, create_graph=True, allow_unused=True), values)
            connected = [(g, v, u) for g, v, u in zip(grads, values, vector) if g.requires_grad]
            products = torch.autograd.grad(
                [g for g, _, _ in connected], values, grad_outputs=[u for _, _, u in connected], allow_unused=True
            ) if connected else [None] * len(values)  # fmt: skip
        return [p.detach() for p in zeros_for_none(products, values)]

    return gradient, hvp


BACKEND_FUNCTIONS = {"jax": _jax_functions, "tensorflow": _tensorflow_functions, "torch": _torch_functions}


class HessianOperator:
    """The Hessian `H = d^2 L / dw^2` of an `Objective` at its weights `w0`, as products with vectors.

    `matvec(v)` is `H v` for a flat vector `v` of `objective.size` numbers (float64 numpy in and out),
    summed over the objective's batches, each weighted by its share of the examples, so it is the
    Hessian of the loss over all the data. `gradient()` is `dL/dw` the same way. `products` counts the
    Hessian-vector products made (one per batch and call).
    """

    def __init__(self, objective, batches=None, functions=None):
        backend = keras.backend.backend()
        if backend not in BACKEND_FUNCTIONS:
            raise ValueError(f"Hessian-vector products need the tensorflow, jax or torch backend; got {backend!r}.")
        self.objective = objective
        self.size = objective.size
        self.batches = objective.batches if batches is None else batches
        self._functions = functions or BACKEND_FUNCTIONS[backend](objective)
        self._values = objective.unflatten(objective.weights)
        self.products = 0

    def _summed(self, function, *args):
        total = np.zeros(self.size)
        for images, labels, share in self.batches:
            total += share * self.objective.flatten(function(self._values, *args, images, labels))
        return total

    def gradient(self):
        return self._summed(self._functions[0])

    def matvec(self, vector):
        self.products += len(self.batches)
        return self._summed(self._functions[1], self.objective.unflatten(vector))

    def per_batch(self):
        """One operator per batch of the objective: the Hessian of that batch's mean loss alone."""
        for images, labels, _ in self.batches:
            yield HessianOperator(self.objective, [(images, labels, 1.0)], self._functions)
