import keras
from keras import ops

from keras_vit.checks import check_heads, check_non_negative_int, check_positive_int
from keras_vit.layers.activations import get_activation
from keras_vit.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="keras_vit")
class AttentionPooling(keras.layers.Layer):
    """Multi-head attention pooling, "MAP" (big_vision's `MAPHead`, SigLIP's head, timm's `AttentionPoolLatent`).

    `(B, T + N, dim)` -> `(B, dim)`: one learned query (`latent`, big_vision's `probe`) attends over
    the `N` patch tokens (the `T = num_prefix_tokens` prefix tokens are left out, as timm does) with
    `num_heads` heads; the output projection, then `x + mlp(norm(x))` with an MLP `dim -> mlp_dim ->
    dim` of `activation` (`keras_vit.layers.activations`), as in a transformer block.

    The query projection `q` and the fused key/value projection `kv` `(dim, 2 * dim)` map one-to-one
    onto timm's `attn_pool.q` / `attn_pool.kv`. The attention is `keras.ops.dot_product_attention`.
    """

    pooling = "map"  # what it computes, as `TokenPooling.pooling` says it

    def __init__(self, num_heads, mlp_dim, num_prefix_tokens=0, activation="gelu", layer_norm_epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.mlp_dim = check_positive_int(mlp_dim, "mlp_dim")
        self.num_prefix_tokens = check_non_negative_int(num_prefix_tokens, "num_prefix_tokens")
        self.activation = activation
        self.activation_fn = get_activation(activation)
        self.layer_norm_epsilon = layer_norm_epsilon

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"AttentionPooling expects tokens of rank 3 (B, N, dim); got shape {input_shape}.")
        dim = input_shape[-1]
        check_heads(dim, self.num_heads)
        self.dim, self.head_dim = dim, dim // self.num_heads
        policy = self.dtype_policy
        # timm's initialization of the latent query: a truncated normal of std dim ** -0.5.
        self.latent = self.add_weight(
            shape=(1, 1, dim), initializer=keras.initializers.TruncatedNormal(stddev=dim**-0.5), name="latent"
        )
        token_shape = (None, None, dim)
        self.q = keras.layers.Dense(dim, dtype=policy, name="q")
        self.kv = keras.layers.Dense(2 * dim, dtype=policy, name="kv")
        self.proj = keras.layers.Dense(dim, dtype=policy, name="proj")
        self.norm = LayerNorm(epsilon=self.layer_norm_epsilon, dtype=policy, name="norm")
        self.fc1 = keras.layers.Dense(self.mlp_dim, activation=self.activation_fn, dtype=policy, name="fc1")
        self.fc2 = keras.layers.Dense(dim, dtype=policy, name="fc2")
        for layer in (self.q, self.kv, self.proj, self.norm, self.fc1):
            layer.build(token_shape)
        self.fc2.build((None, None, self.mlp_dim))

    def call(self, x):
        if self.num_prefix_tokens:
            _, x = ops.split(x, [self.num_prefix_tokens], axis=1)
        num_tokens = x.shape[1]
        # The query of the one latent token, broadcast over the batch by adding zeros shaped like one token.
        query = ops.zeros_like(x[:, :1, :]) + self.q(ops.cast(self.latent, x.dtype))
        q = ops.reshape(query, (-1, 1, self.num_heads, self.head_dim))
        k, v = (ops.reshape(t, (-1, num_tokens, self.num_heads, self.head_dim)) for t in ops.split(self.kv(x), 2, -1))
        out = ops.dot_product_attention(q, k, v, scale=self.head_dim**-0.5)  # (B, 1, heads, head_dim)
        out = self.proj(ops.reshape(out, (-1, 1, self.dim)))
        out = out + self.fc2(self.fc1(self.norm(out)))
        return ops.squeeze(out, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "mlp_dim": self.mlp_dim,
            "num_prefix_tokens": self.num_prefix_tokens,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
        }
