import keras

from keras_vit.layers.activations import get_activation
from keras_vit.layers.attention import MultiHeadSelfAttention, first_tokens
from keras_vit.layers.layer_norm import LayerNorm
from keras_vit.layers.regularization import DropPath, LayerScale
from keras_vit.checks import check_heads, check_positive_int, check_positive_number, check_rate


@keras.saving.register_keras_serializable(package="keras_vit")
class TransformerBlock(keras.layers.Layer):
    """Pre-norm ViT encoder block: `x + attn(norm1(x))`, then `x + mlp(norm2(x))`.

    `(B, N, dim)` -> `(B, N, dim)`; with `return_attention_scores=True` in `call`, also
    the attention weights `(B, num_heads, N, N)`. The MLP is `dim -> mlp_dim -> dim`
    with `activation` (`keras_vit.layers.activations`: "gelu", exact, by default; "gelu_tanh";
    "quick_gelu"). Each residual branch optionally passes LayerScale (`init_values`)
    and per-sample drop-path (`drop_path`).
    """

    def __init__(
        self,
        num_heads,
        mlp_dim,
        dropout=0.0,
        attention_dropout=0.0,
        drop_path=0.0,
        init_values=None,
        qkv_bias=True,
        qk_norm=False,
        layer_norm_epsilon=1e-6,
        activation="gelu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.activation = activation
        self.activation_fn = get_activation(activation)
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.mlp_dim = check_positive_int(mlp_dim, "mlp_dim")
        self.dropout = check_rate(dropout, "dropout")
        self.attention_dropout = check_rate(attention_dropout, "attention_dropout")
        self.drop_path = check_rate(drop_path, "drop_path")
        self.init_values = None if init_values is None else check_positive_number(init_values, "init_values")
        self.qkv_bias = bool(qkv_bias)
        self.qk_norm = bool(qk_norm)
        self.layer_norm_epsilon = layer_norm_epsilon

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"TransformerBlock expects tokens of rank 3 (B, N, dim); got shape {input_shape}.")
        dim = input_shape[-1]
        check_heads(dim, self.num_heads)
        policy = self.dtype_policy
        eps = self.layer_norm_epsilon
        self.norm1 = LayerNorm(epsilon=eps, dtype=policy, name="norm1")
        self.attn = MultiHeadSelfAttention(
            self.num_heads,
            qkv_bias=self.qkv_bias,
            qk_norm=self.qk_norm,
            attention_dropout=self.attention_dropout,
            dropout=self.dropout,
            layer_norm_epsilon=eps,
            dtype=policy,
            name="attn",
        )
        self.norm2 = LayerNorm(epsilon=eps, dtype=policy, name="norm2")
        self.fc1 = keras.layers.Dense(self.mlp_dim, activation=self.activation_fn, dtype=policy, name="fc1")
        self.fc2 = keras.layers.Dense(dim, dtype=policy, name="fc2")
        self.mlp_dropout = keras.layers.Dropout(self.dropout)
        self.drop_path_layer = DropPath(self.drop_path, dtype=policy)
        for sublayer in (self.norm1, self.attn, self.norm2):
            sublayer.build(input_shape)
        self.fc1.build(input_shape)
        self.fc2.build(tuple(input_shape[:-1]) + (self.mlp_dim,))
        if self.init_values is not None:
            self.ls1 = LayerScale(self.init_values, dtype=policy, name="ls1")
            self.ls2 = LayerScale(self.init_values, dtype=policy, name="ls2")
            self.ls1.build(input_shape)
            self.ls2.build(input_shape)

    def _residual(self, x, branch, scale, training):
        if self.init_values is not None:
            branch = scale(branch)
        return x + self.drop_path_layer(branch, training=training)

    def call(self, x, training=None, return_attention_scores=False, query_tokens=None):
        """`query_tokens=k` computes the first `k` tokens only: `(B, N, dim)` -> `(B, k, dim)`,
        equal to `block(x)[:, :k]`; the last block of a model that reads only its prefix tokens
        needs nothing more (`VisionTransformer.training_query_tokens`)."""
        attended = self.attn(
            self.norm1(x),
            training=training,
            return_attention_scores=return_attention_scores,
            query_tokens=query_tokens,
        )
        if return_attention_scores:
            attended, weights = attended
        if query_tokens is not None and query_tokens != x.shape[1]:
            x = first_tokens(x, query_tokens)
        x = self._residual(x, attended, getattr(self, "ls1", None), training)
        hidden = self.mlp_dropout(self.fc1(self.norm2(x)), training=training)
        mlp_out = self.mlp_dropout(self.fc2(hidden), training=training)
        x = self._residual(x, mlp_out, getattr(self, "ls2", None), training)
        return (x, weights) if return_attention_scores else x

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, x, training=None, return_attention_scores=False, query_tokens=None):
        return self.attn.compute_output_spec(x, return_attention_scores=return_attention_scores, query_tokens=query_tokens)

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "mlp_dim": self.mlp_dim,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "drop_path": self.drop_path,
            "init_values": self.init_values,
            "qkv_bias": self.qkv_bias,
            "qk_norm": self.qk_norm,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "activation": self.activation,
        }
