import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_vit")
class LayerNorm(keras.layers.LayerNormalization):
    """`keras.layers.LayerNormalization` over the last axis, with the per-token scale kept apart from `gamma`.

    `(..., dim)` -> `(..., dim)`: `(x - mean) * inv * gamma + beta` with `inv = 1 / sqrt(var + eps)` of
    shape `(..., 1)`. The same weights (`gamma`, `beta`), config and outputs (to float32 rounding) as
    Keras' layer. Written here because Keras' op (outside torch, where it calls the fused kernel, as
    this layer does too) multiplies `inv` by `gamma` first: a token-sized `(..., dim)` tensor that XLA
    materializes, with its gradient. Under JAX, against Keras' op, a training step of the ViT moves 4%
    fewer bytes and is about 3% faster (benchmarks/README.md).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.axis not in (-1, [-1]) or not (self.center and self.scale) or self.rms_scaling:
            raise ValueError(
                "LayerNorm normalizes over the last axis with a learned scale and offset; got "
                f"axis={self.axis!r}, center={self.center}, scale={self.scale}, rms_scaling={self.rms_scaling}. "
                "Use keras.layers.LayerNormalization for the other forms."
            )

    def call(self, inputs, training=None):
        if keras.backend.backend() == "torch":
            return super().call(inputs)
        # At least float32, as Keras' op: under mixed precision the statistics stay float32.
        dtype = keras.backend.result_type(keras.backend.standardize_dtype(inputs.dtype), "float32")
        x = ops.cast(inputs, dtype)
        mean = ops.mean(x, axis=-1, keepdims=True)
        # Two spellings of the same maths, each the faster one under XLA where it is used (5 to 10% of
        # a JAX step against the other, benchmarks/README.md): in training the centered input, shared by
        # the variance and the output, is what the backward pass keeps; in inference one pass over x.
        if training:
            centered = x - mean
            normalized = centered * ops.rsqrt(ops.mean(ops.square(centered), axis=-1, keepdims=True) + self.epsilon)
        else:
            inv = ops.rsqrt(ops.var(x, axis=-1, keepdims=True) + self.epsilon)
            normalized = x * inv - mean * inv
        outputs = normalized * ops.cast(self.gamma, dtype) + ops.cast(self.beta, dtype)
        return ops.cast(outputs, self.compute_dtype)
