import numpy as np

from keras_vit.inspect import attention_rollout, attention_weights, rollout_steps


def independent_rollout(weights):
    """Abnar & Zuidema's 0.5 * (mean attention) + 0.5 * I, multiplied from the last block down."""
    layers, batch, _, n, _ = weights.shape
    result = np.empty((batch, n, n))
    for b in range(batch):
        mixed = [0.5 * weights[l, b].mean(0) + 0.5 * np.eye(n) for l in range(layers)]
        result[b] = np.linalg.multi_dot(mixed[::-1]) if layers > 1 else mixed[0]
    return result


def random_attention(rng, shape):
    scores = rng.normal(size=shape) * 3
    weights = np.exp(scores)
    return weights / weights.sum(-1, keepdims=True)


def test_rows_sum_to_one_at_every_step():
    weights = random_attention(np.random.default_rng(1), (4, 2, 3, 10, 10))
    steps = rollout_steps(weights)
    assert steps.shape == (4, 2, 10, 10)
    np.testing.assert_allclose(steps.sum(-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(steps[-1], independent_rollout(weights), atol=1e-12)
    np.testing.assert_allclose(steps[1], independent_rollout(weights[:2]), atol=1e-12)


def test_identity_attention_gives_identity_rollout():
    weights = np.broadcast_to(np.eye(6), (3, 2, 4, 6, 6))
    np.testing.assert_allclose(rollout_steps(weights), np.broadcast_to(np.eye(6), (3, 2, 6, 6)))


def test_model_rollout(vit, images):
    weights = attention_weights(vit, images)
    rollout = attention_rollout(vit, images)
    assert rollout.shape == (3, 18, 18)
    np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(rollout, independent_rollout(weights.astype("float64")), atol=1e-6)
