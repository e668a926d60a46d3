import keras
from keras import ops

from keras_vit.checks import check_positive_number, check_rate


@keras.saving.register_keras_serializable(package="keras_vit")
class DropPath(keras.layers.Layer):
    """Stochastic depth: in training, zeroes whole samples of a residual branch.

    `(B, ...)` -> `(B, ...)`. Each sample is kept with probability `1 - rate` and then
    scaled by `1 / (1 - rate)`; at inference it is the identity.
    """

    def __init__(self, rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate, "rate")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if not training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask_shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        mask = ops.floor(keep + keras.random.uniform(mask_shape, seed=self.seed_generator, dtype=x.dtype))
        return x / keep * mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_vit")
class LayerScale(keras.layers.Layer):
    """Per-channel learned scale (CaiT / timm `ls1`, `ls2`): `(..., dim)` -> `(..., dim)`."""

    def __init__(self, init_values, **kwargs):
        super().__init__(**kwargs)
        self.init_values = float(check_positive_number(init_values, "init_values"))

    def build(self, input_shape):
        self.gamma = self.add_weight(
            shape=(input_shape[-1],), initializer=keras.initializers.Constant(self.init_values), name="gamma"
        )

    def call(self, x):
        return x * ops.cast(self.gamma, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values}
