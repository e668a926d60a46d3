import math

import keras
import numpy as np
import pytest

from keras_vit import build_deit
from keras_vit.training import build_optimizer, peak_learning_rate, schedule_steps, warmup_cosine
from tiny_training import TEST_JIT


def test_weight_decay_skips_biases_norms_layerscale_position_embeddings_and_tokens(tiny):
    # One compiled training step with a loss of zero gradient: Adam's own update is then zero,
    # so the step changes exactly the variables that weight decay reaches.
    model = build_deit(num_classes=3, init_values=0.1, distillation_token=True, **tiny)
    for variable in model.trainable_variables:
        variable.assign(np.ones(variable.shape, "float32"))
    optimizer = build_optimizer(
        peak_lr=0.1, total_steps=10, warmup_steps=0, weight_decay=0.5, clipnorm=None,
        no_weight_decay=model.no_weight_decay(),
    )  # fmt: skip
    model.compile(optimizer=optimizer, loss=lambda labels, logits: keras.ops.sum(logits) * 0.0, jit_compile=TEST_JIT)
    model.train_on_batch(np.zeros((2, 16, 16, 3), "float32"), np.zeros((2, 3), "float32"))

    decayed = {v.path for v in model.trainable_variables if not np.allclose(keras.ops.convert_to_numpy(v), 1.0)}
    kept = {v.path for v in model.trainable_variables} - decayed
    # Every kernel is decayed (by lr * wd = 0.05): the patch projection, qkv, proj, fc1, fc2, both heads.
    assert decayed == {v.path for v in model.trainable_variables if v.name == "kernel"}
    assert len(decayed) == 3 + 4 * tiny["depth"]
    for v in model.trainable_variables:
        if v.path in decayed:
            np.testing.assert_allclose(keras.ops.convert_to_numpy(v), 1.0 - 0.1 * 0.5, rtol=1e-6)
    assert {path.split("/")[-1] for path in kept} == {
        "bias", "gamma", "beta", "cls_token", "dist_token", "position_embeddings"
    }  # fmt: skip
    # Each block keeps its qkv/proj/fc1/fc2 biases, two LayerNorms (gamma, beta) and two LayerScales.
    assert sum("block_0/" in path for path in kept) == 4 + 4 + 2


def test_schedule_warms_up_linearly_then_decays_along_a_cosine_to_zero():
    schedule = warmup_cosine(peak_lr=1e-3, total_steps=110, warmup_steps=10)
    lr = lambda step: float(keras.ops.convert_to_numpy(schedule(step)))  # noqa: E731
    assert lr(0) == 0.0
    assert lr(5) == pytest.approx(0.5e-3)
    assert lr(10) == pytest.approx(1e-3)
    assert lr(35) == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 0.25)))
    assert lr(60) == pytest.approx(0.5e-3)
    assert lr(110) == pytest.approx(0.0, abs=1e-12)
    assert lr(500) == pytest.approx(0.0, abs=1e-12)


def test_optimizer_follows_the_schedule_and_clips_gradients():
    variable = keras.Variable(np.zeros(2, "float32"))
    optimizer = build_optimizer(peak_lr=1e-3, total_steps=110, warmup_steps=10, clipnorm=1.0)
    optimizer.build([variable])
    for _ in range(5):
        optimizer.apply([keras.ops.ones(2)], [variable])
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.5e-3)
    assert optimizer.global_clipnorm == 1.0
    with pytest.raises(ValueError, match="warmup_steps=10, total_steps=10"):
        warmup_cosine(1e-3, total_steps=10, warmup_steps=10)


def test_learning_rate_scales_linearly_with_the_global_batch():
    assert peak_learning_rate(5e-4, 512) == pytest.approx(5e-4)
    assert peak_learning_rate(5e-4, 1024) == pytest.approx(1e-3)
    assert peak_learning_rate(4e-3, 128) == pytest.approx(1e-3)
    assert peak_learning_rate(1e-3, 64, base_batch_size=256) == pytest.approx(2.5e-4)


def test_schedule_steps_round_warmup_up_and_keep_one_decay_step():
    assert schedule_steps(epochs=10, steps_per_epoch=96, warmup_epochs=1.5) == (960, 144)
    assert schedule_steps(epochs=1, steps_per_epoch=4, warmup_epochs=1) == (4, 3)
    assert schedule_steps(epochs=3, steps_per_epoch=7, warmup_epochs=0) == (21, 0)
