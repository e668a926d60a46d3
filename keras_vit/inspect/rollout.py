"""Attention rollout (Abnar & Zuidema, 2020)."""

import numpy as np

from keras_vit.inspect.attention import attention_weights


def rollout_steps(weights):
    """Cumulative attention rollout after each block.

    `weights` `(layers, B, heads, N, N)` -> `(layers, B, N, N)`, where step `l` is
    `A_l @ ... @ A_0` with `A_i` = the head-averaged attention of block `i` plus the
    identity (the residual path), each row re-normalized to sum to 1. Every row of every
    step sums to 1 (vit-keras normalizes over the whole matrix instead, which does not).
    """
    weights = np.asarray(weights, dtype="float64")
    if weights.ndim != 5 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"Attention weights must have shape (layers, B, heads, N, N); got {weights.shape}.")
    mixed = weights.mean(axis=2) + np.eye(weights.shape[-1])
    mixed /= mixed.sum(axis=-1, keepdims=True)
    steps = np.empty_like(mixed)
    steps[0] = mixed[0]
    for index in range(1, len(mixed)):
        steps[index] = mixed[index] @ steps[index - 1]
    return steps


def attention_rollout(model, images, batch_size=32):
    """Attention rollout through all blocks: `(B, N, N)`, rows summing to 1.

    Row `i` says how much each input token flows into output token `i`; row 0 of a model
    with a class token is the CLS token's map over the image.
    """
    return rollout_steps(attention_weights(model, images, batch_size))[-1]
