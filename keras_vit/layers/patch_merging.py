import keras
from keras import ops

from keras_vit.checks import check_positive_int
from keras_vit.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="keras_vit")
class PatchMerging(keras.layers.Layer):
    """Swin's downsampling between stages (timm's `PatchMerging`): `(B, H, W, C)` -> `(B, H/2, W/2, out_dim)`.

    Each 2x2 neighbourhood's features are concatenated in timm's order, `(0, 0)`, `(1, 0)`, `(0, 1)`, `(1, 1)`
    as (row, column) offsets, normalized (`norm`, over `4C`) and projected without bias (`reduction`). `H` and
    `W` must be even (timm pads an odd map with zeros, but its blocks then disagree with the map's size).
    """

    def __init__(self, out_dim, layer_norm_epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.out_dim = check_positive_int(out_dim, "out_dim")
        self.layer_norm_epsilon = layer_norm_epsilon

    def build(self, input_shape):
        _, height, width, channels = input_shape
        if height is None or width is None or height % 2 or width % 2:
            raise ValueError(
                f"PatchMerging halves the feature map: it needs an even height and width; got {height}x{width}. "
                "Choose an image size whose patch grid halves evenly at every stage."
            )
        self.norm = LayerNorm(epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="norm")
        self.norm.build((None, height // 2, width // 2, 4 * channels))
        self.reduction = keras.layers.Dense(self.out_dim, use_bias=False, dtype=self.dtype_policy, name="reduction")
        self.reduction.build((None, height // 2, width // 2, 4 * channels))

    def call(self, x):
        _, height, width, channels = x.shape
        x = ops.reshape(x, (-1, height // 2, 2, width // 2, 2, channels))
        # (B, H/2, W/2, column offset, row offset, C): concatenated, the row offset varies fastest (timm's order).
        x = ops.reshape(ops.transpose(x, (0, 1, 3, 4, 2, 5)), (-1, height // 2, width // 2, 4 * channels))
        return self.reduction(self.norm(x))

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, height // 2, width // 2, self.out_dim)

    def get_config(self):
        return {**super().get_config(), "out_dim": self.out_dim, "layer_norm_epsilon": self.layer_norm_epsilon}
