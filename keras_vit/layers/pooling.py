import keras
from keras import ops

from keras_vit.checks import check_choice

# A model's pooling: the CLS token, the mean of the patch tokens, or multi-head attention pooling
# (`AttentionPooling`, "map").
POOLINGS = ("token", "gap", "map")
# What `TokenPooling` computes: "distillation" takes the second token (DeiT's distillation token); it is
# not a model-level pooling choice.
TOKEN_POOLINGS = ("token", "gap", "distillation")
# How many prefix tokens each pooling reads (0: it reads the patch tokens, so every token's final value).
PREFIX_TOKENS_READ = {"token": 1, "distillation": 2, "gap": 0, "map": 0}


@keras.saving.register_keras_serializable(package="keras_vit")
class TokenPooling(keras.layers.Layer):
    """Token sequence to one vector per image: `(B, T + N, dim)` -> `(B, dim)`.

    `"token"` takes the first (CLS) token; `"distillation"` the second (DeiT's distillation
    token); `"gap"` averages the `N` patch tokens after the `num_prefix_tokens` prefix tokens. Tokens are taken with `split`, not gather-style
    indexing (`x[:, 0]`), which TFLite fails to convert for JAX-built models.
    """

    def __init__(self, pooling="token", num_prefix_tokens=1, **kwargs):
        super().__init__(**kwargs)
        self.pooling = check_choice(pooling, "pooling", TOKEN_POOLINGS)
        needed = PREFIX_TOKENS_READ[pooling]
        if num_prefix_tokens < needed:
            raise ValueError(
                f"pooling={pooling!r} needs at least {needed} prefix token(s); got num_prefix_tokens={num_prefix_tokens}."
            )
        self.num_prefix_tokens = int(num_prefix_tokens)

    def call(self, x):
        if self.pooling == "token":
            return ops.squeeze(ops.split(x, [1], axis=1)[0], axis=1)
        if self.pooling == "distillation":
            return ops.squeeze(ops.split(x, [1, 2], axis=1)[1], axis=1)
        if self.num_prefix_tokens:
            _, x = ops.split(x, [self.num_prefix_tokens], axis=1)
        return ops.mean(x, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "pooling": self.pooling, "num_prefix_tokens": self.num_prefix_tokens}
