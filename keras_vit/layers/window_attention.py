import keras
from keras import ops

from keras_vit.checks import check_heads, check_positive_int, check_rate, to_pair
from keras_vit.layers.windows import relative_position_index


@keras.saving.register_keras_serializable(package="keras_vit")
class WindowAttention(keras.layers.Layer):
    """Multi-head self-attention inside windows, with Swin's relative position bias (timm's `WindowAttention`).

    `(B * num_windows, N, dim)` with `N = wh * ww` -> the same shape; with `return_attention_scores=True` also the
    softmax weights `(B * num_windows, num_heads, N, N)`. The bias of a query, key pair is a learned row of
    `relative_position_bias_table` `((2wh-1) * (2ww-1), num_heads)`, chosen by their offset in the window.
    `window_mask` (`(num_windows, N, N)`, 0 or -100, the shifted-window mask) is added per window, the window index
    varying fastest in the batch, as `window_partition` orders them.

    The scores are computed explicitly rather than with `ops.dot_product_attention`: the bias and the per-window
    mask do not fit the fused kernels' mask arguments on every backend. The fused `qkv` maps onto timm's `attn.qkv`.
    """

    def __init__(self, num_heads, window_size, qkv_bias=True, attention_dropout=0.0, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.window_size = to_pair(window_size, "window_size")
        self.qkv_bias = bool(qkv_bias)
        self.attention_dropout = check_rate(attention_dropout, "attention_dropout")
        self.dropout = check_rate(dropout, "dropout")

    def build(self, input_shape):
        dim = input_shape[-1]
        check_heads(dim, self.num_heads)
        self.dim, self.head_dim = dim, dim // self.num_heads
        wh, ww = self.window_size
        if input_shape[1] is not None and input_shape[1] != wh * ww:
            raise ValueError(f"WindowAttention with a {wh}x{ww} window takes {wh * ww} tokens; got shape {input_shape}.")
        self.relative_position_bias_table = self.add_weight(
            shape=((2 * wh - 1) * (2 * ww - 1), self.num_heads),
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="relative_position_bias_table",
        )
        self.index = relative_position_index(self.window_size).reshape(-1)
        self.qkv = keras.layers.Dense(3 * dim, use_bias=self.qkv_bias, dtype=self.dtype_policy, name="qkv")
        self.qkv.build(input_shape)
        self.proj = keras.layers.Dense(dim, dtype=self.dtype_policy, name="proj")
        self.proj.build(input_shape)
        self.attention_dropout_layer = keras.layers.Dropout(self.attention_dropout)
        self.proj_dropout = keras.layers.Dropout(self.dropout)

    def relative_position_bias(self):
        """`(num_heads, N, N)`: the bias table read at every query, key offset."""
        tokens = self.window_size[0] * self.window_size[1]
        bias = ops.take(self.relative_position_bias_table, ops.convert_to_tensor(self.index), axis=0)
        return ops.transpose(ops.reshape(bias, (tokens, tokens, self.num_heads)), (2, 0, 1))

    def call(self, x, window_mask=None, training=None, return_attention_scores=False):
        tokens = x.shape[1]
        head_shape = (-1, tokens, self.num_heads, self.head_dim)
        q, k, v = (ops.reshape(t, head_shape) for t in ops.split(self.qkv(x), 3, axis=-1))
        scores = ops.einsum("bqhd,bkhd->bhqk", q * ops.cast(self.head_dim**-0.5, q.dtype), k)
        scores = ops.cast(scores, "float32") + ops.cast(self.relative_position_bias(), "float32")[None]
        if window_mask is not None:
            windows = window_mask.shape[0]
            scores = ops.reshape(scores, (-1, windows, self.num_heads, tokens, tokens))
            scores = scores + ops.cast(ops.convert_to_tensor(window_mask), "float32")[None, :, None]
            scores = ops.reshape(scores, (-1, self.num_heads, tokens, tokens))
        weights = ops.softmax(scores, axis=-1)
        dropped = self.attention_dropout_layer(ops.cast(weights, v.dtype), training=training)
        out = ops.reshape(ops.einsum("bhqk,bkhd->bqhd", dropped, v), (-1, tokens, self.dim))
        out = self.proj_dropout(self.proj(out), training=training)
        return (out, weights) if return_attention_scores else out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "window_size": self.window_size,
            "qkv_bias": self.qkv_bias,
            "attention_dropout": self.attention_dropout,
            "dropout": self.dropout,
        }
