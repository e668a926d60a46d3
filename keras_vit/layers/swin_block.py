import keras
from keras import ops

from keras_vit.checks import check_positive_int, check_rate, to_pair
from keras_vit.layers.activations import get_activation
from keras_vit.layers.layer_norm import LayerNorm
from keras_vit.layers.regularization import DropPath
from keras_vit.layers.window_attention import WindowAttention
from keras_vit.layers.windows import padded_grid, roll, shifted_window_mask, window_and_shift, window_partition, window_reverse


@keras.saving.register_keras_serializable(package="keras_vit")
class SwinBlock(keras.layers.Layer):
    """A Swin Transformer block (Liu et al. 2021; timm's `SwinTransformerBlock`) on a feature map.

    `(B, H, W, dim)` -> `(B, H, W, dim)`: `x + attn(norm1(x))` with the attention inside windows, then
    `x + mlp(norm2(x))`. The window is `window_size` (the whole axis where the map is no larger, as timm);
    `shifted=True` first rolls the map up and left by half a window (the shifted-window block) and masks the
    pairs that were not neighbours before the roll; the map is padded with zeros at the bottom and right to
    whole windows after the roll and cropped after (timm's order). With `return_attention_scores=True` in
    `call`, also the weights `(B * num_windows, num_heads, N, N)` of every window (`window_grid` windows in
    row-major order; `keras_vit.inspect` stitches them back onto the map).
    """

    def __init__(self, num_heads, window_size=7, shifted=False, mlp_dim=None, qkv_bias=True, dropout=0.0,
                 attention_dropout=0.0, drop_path=0.0, layer_norm_epsilon=1e-5, activation="gelu", **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.window_size = to_pair(window_size, "window_size")
        self.shifted = bool(shifted)
        self.mlp_dim = None if mlp_dim is None else check_positive_int(mlp_dim, "mlp_dim")
        self.qkv_bias = bool(qkv_bias)
        self.dropout = check_rate(dropout, "dropout")
        self.attention_dropout = check_rate(attention_dropout, "attention_dropout")
        self.drop_path = check_rate(drop_path, "drop_path")
        self.layer_norm_epsilon = layer_norm_epsilon
        self.activation = activation
        self.activation_fn = get_activation(activation)

    def build(self, input_shape):
        if len(input_shape) != 4 or None in input_shape[1:]:
            raise ValueError(f"SwinBlock takes a feature map (B, H, W, dim) of static size; got shape {input_shape}.")
        _, height, width, dim = input_shape
        self.grid = (height, width)
        self.window, self.shift = window_and_shift(self.grid, self.window_size, self.shifted)
        self.padded = padded_grid(self.grid, self.window)
        self.window_grid = (self.padded[0] // self.window[0], self.padded[1] // self.window[1])
        self.mask = shifted_window_mask(self.grid, self.window, self.shift)
        policy, eps = self.dtype_policy, self.layer_norm_epsilon
        self.norm1 = LayerNorm(epsilon=eps, dtype=policy, name="norm1")
        self.attn = WindowAttention(
            self.num_heads, self.window, qkv_bias=self.qkv_bias, attention_dropout=self.attention_dropout,
            dropout=self.dropout, dtype=policy, name="attn",
        )  # fmt: skip
        self.norm2 = LayerNorm(epsilon=eps, dtype=policy, name="norm2")
        mlp_dim = self.mlp_dim or 4 * dim
        self.fc1 = keras.layers.Dense(mlp_dim, activation=self.activation_fn, dtype=policy, name="fc1")
        self.fc2 = keras.layers.Dense(dim, dtype=policy, name="fc2")
        self.mlp_dropout = keras.layers.Dropout(self.dropout)
        self.drop_path_layer = DropPath(self.drop_path, dtype=policy)
        self.norm1.build(input_shape)
        self.norm2.build(input_shape)
        self.attn.build((None, self.window[0] * self.window[1], dim))
        self.fc1.build(input_shape)
        self.fc2.build(tuple(input_shape[:-1]) + (mlp_dim,))

    def _attend(self, x, training, return_attention_scores):
        (height, width), (pad_h, pad_w) = self.grid, (self.padded[0] - self.grid[0], self.padded[1] - self.grid[1])
        x = roll(roll(x, -self.shift[0], 1), -self.shift[1], 2)
        if pad_h or pad_w:
            x = ops.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
        attended = self.attn(
            window_partition(x, self.window), window_mask=self.mask, training=training,
            return_attention_scores=return_attention_scores,
        )  # fmt: skip
        weights = None
        if return_attention_scores:
            attended, weights = attended
        x = window_reverse(attended, self.window, *self.padded)
        if pad_h:
            x = ops.split(x, [height], axis=1)[0]
        if pad_w:
            x = ops.split(x, [width], axis=2)[0]
        return roll(roll(x, self.shift[0], 1), self.shift[1], 2), weights

    def call(self, x, training=None, return_attention_scores=False):
        attended, weights = self._attend(self.norm1(x), training, return_attention_scores)
        x = x + self.drop_path_layer(attended, training=training)
        hidden = self.mlp_dropout(self.fc1(self.norm2(x)), training=training)
        x = x + self.drop_path_layer(self.mlp_dropout(self.fc2(hidden), training=training), training=training)
        return (x, weights) if return_attention_scores else x

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, x, training=None, return_attention_scores=False):
        out = keras.KerasTensor(x.shape, dtype=self.compute_dtype)
        if not return_attention_scores:
            return out
        windows = None if x.shape[0] is None else x.shape[0] * self.window_grid[0] * self.window_grid[1]
        tokens = self.window[0] * self.window[1]
        return out, keras.KerasTensor((windows, self.num_heads, tokens, tokens), dtype="float32")

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "window_size": self.window_size,
            "shifted": self.shifted,
            "mlp_dim": self.mlp_dim,
            "qkv_bias": self.qkv_bias,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "drop_path": self.drop_path,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "activation": self.activation,
        }
