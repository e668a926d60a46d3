import keras
from keras import ops

from keras_vit.layers.layer_norm import LayerNorm
from keras_vit.checks import check_heads, check_positive_int, check_rate


def check_query_tokens(query_tokens, num_tokens):
    if not isinstance(query_tokens, int) or isinstance(query_tokens, bool) or not 0 < query_tokens <= num_tokens:
        raise ValueError(f"query_tokens must be an int in [1, {num_tokens}] (the token count); got {query_tokens!r}.")
    return query_tokens


def first_tokens(x, count):
    """`x[:, :count]`, written with `split`: TFLite fails to convert gather-style slices of JAX models."""
    return ops.split(x, [count], axis=1)[0]


@keras.saving.register_keras_serializable(package="keras_vit")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Multi-head self-attention with a fused QKV projection and optional qk-norm.

    `(B, N, dim)` -> `(B, N, dim)`; with `return_attention_scores=True` also the
    softmax weights `(B, num_heads, N, N)`. Each head has width `dim // num_heads`.

    Written here rather than using `keras.layers.MultiHeadAttention` because that layer
    has no qk-norm and projects Q, K and V with three separate matmuls; one `(dim, 3*dim)`
    projection is faster and maps one-to-one onto timm's `attn.qkv` weights.
    The default path calls `keras.ops.dot_product_attention` (the backend's fused kernel);
    the explicit softmax path runs only when weights are requested or attention dropout
    is active in training, and gives the same output.
    """

    def __init__(self, num_heads, qkv_bias=True, qk_norm=False, attention_dropout=0.0,
                 dropout=0.0, layer_norm_epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.qkv_bias = bool(qkv_bias)
        self.qk_norm = bool(qk_norm)
        self.attention_dropout = check_rate(attention_dropout, "attention_dropout")
        self.dropout = check_rate(dropout, "dropout")
        self.layer_norm_epsilon = layer_norm_epsilon

    def build(self, input_shape):
        dim = input_shape[-1]
        check_heads(dim, self.num_heads)
        self.dim = dim
        self.head_dim = dim // self.num_heads
        self.qkv = keras.layers.Dense(3 * dim, use_bias=self.qkv_bias, dtype=self.dtype_policy, name="qkv")
        self.qkv.build(input_shape)
        if self.qk_norm:
            head_shape = (None, None, self.num_heads, self.head_dim)
            self.q_norm = LayerNorm(
                epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="q_norm"
            )
            self.k_norm = LayerNorm(
                epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name="k_norm"
            )
            self.q_norm.build(head_shape)
            self.k_norm.build(head_shape)
        self.attention_dropout_layer = keras.layers.Dropout(self.attention_dropout)
        self.proj = keras.layers.Dense(dim, dtype=self.dtype_policy, name="proj")
        self.proj.build(input_shape)
        self.proj_dropout = keras.layers.Dropout(self.dropout)

    def call(self, x, training=None, return_attention_scores=False, query_tokens=None):
        """`query_tokens=k` attends from the first `k` tokens only (keys and values from all):
        `(B, N, dim)` -> `(B, k, dim)`, weights `(B, num_heads, k, N)`."""
        num_tokens = x.shape[1]
        num_queries = num_tokens if query_tokens is None else check_query_tokens(query_tokens, num_tokens)
        q, k, v = self._project(x, num_queries)  # (B, num_queries, heads, head_dim), k and v (B, N, heads, head_dim)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        scale = self.head_dim**-0.5
        explicit = return_attention_scores or (training and self.attention_dropout > 0)
        if explicit:
            scores = ops.einsum("bqhd,bkhd->bhqk", q * ops.cast(scale, q.dtype), k)
            weights = ops.softmax(ops.cast(scores, "float32"), axis=-1)
            dropped = self.attention_dropout_layer(ops.cast(weights, v.dtype), training=training)
            out = ops.einsum("bhqk,bkhd->bqhd", dropped, v)
        else:
            out = ops.dot_product_attention(q, k, v, scale=scale)
        out = ops.reshape(out, (-1, num_queries, self.dim))
        out = self.proj_dropout(self.proj(out), training=training)
        return (out, weights) if return_attention_scores else out

    def _project(self, x, num_queries):
        """The queries of the first `num_queries` tokens, the keys and values of all, each split into heads."""
        num_tokens = x.shape[1]
        if num_queries == num_tokens or self.qkv.quantization_mode is not None:
            # Split along the last axis, then reshape: under JAX this moves 11% fewer bytes per training
            # step than unstacking a (B, N, 3, heads, head_dim) reshape (benchmarks/README.md).
            q, k, v = ops.split(self.qkv(x), 3, axis=-1)
            q = first_tokens(q, num_queries) if num_queries != num_tokens else q
        else:
            # Project only the queries that are used: with one query token of 65 this removes a third of
            # the projection's work. `qkv.kernel` is the layer's effective kernel (LoRA included); a
            # quantized layer keeps its own call above.
            q_kernel, kv_kernel = ops.split(self.qkv.kernel, [self.dim], axis=-1)
            q = ops.matmul(first_tokens(x, num_queries), q_kernel)
            kv = ops.matmul(x, kv_kernel)
            if self.qkv_bias:
                q_bias, kv_bias = ops.split(self.qkv.bias, [self.dim])
                q, kv = q + q_bias, kv + kv_bias
            k, v = ops.split(kv, 2, axis=-1)
        return (ops.reshape(t, (-1, t.shape[1], self.num_heads, self.head_dim)) for t in (q, k, v))

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, x, training=None, return_attention_scores=False, query_tokens=None):
        num_tokens = x.shape[1]
        num_queries = num_tokens if query_tokens is None else check_query_tokens(query_tokens, num_tokens)
        out = keras.KerasTensor((x.shape[0], num_queries, x.shape[2]), dtype=self.compute_dtype)
        if not return_attention_scores:
            return out
        return out, keras.KerasTensor((x.shape[0], self.num_heads, num_queries, num_tokens), dtype="float32")

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "qkv_bias": self.qkv_bias,
            "qk_norm": self.qk_norm,
            "attention_dropout": self.attention_dropout,
            "dropout": self.dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
        }
