"""`ema` and `grad_accum_steps`: the final weights are the moving average of the stepped ones, and
accumulating k batches steps as one batch k times larger."""

import json

import keras
import numpy as np
import pytest

from tiny_training import Interrupted, InterruptAt, tiny_config

from keras_vit.training import TrainConfig, train

EMA_MOMENTUM = 0.99  # Keras' default, which `ema` uses


def numpy_weights(model):
    return [keras.ops.convert_to_numpy(weight) for weight in model.trainable_weights]


class StepWeights(keras.callbacks.Callback):
    """The trainable weights after every training step (the ones the optimizer steps)."""

    def on_train_begin(self, logs=None):
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        # JAX's fit holds the variables outside the model during an epoch: put them back to read them.
        getattr(self.model, "jax_state_sync", lambda: None)()
        self.steps.append(numpy_weights(self.model))


def test_ema_final_weights_are_the_moving_average_of_the_stepped_weights(tiny_idx_dir, tmp_path):
    steps = StepWeights()
    result = train(tiny_config(tiny_idx_dir, tmp_path, ema=True, epochs=2, batch_size=16), callbacks=[steps])
    assert len(steps.steps) == 8  # 64 images in batches of 16, two epochs
    # Keras' EMA: the first step's weights, then average = m * average + (1 - m) * weights after each step.
    average = steps.steps[0]
    for weights in steps.steps[1:]:
        average = [EMA_MOMENTUM * a + (1 - EMA_MOMENTUM) * w for a, w in zip(average, weights)]
    final = numpy_weights(result.model)
    for ours, expected, last in zip(final, average, steps.steps[-1]):
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(ours, last, atol=1e-6) for ours, last in zip(final, steps.steps[-1]))
    saved = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    for ours, expected in zip(numpy_weights(saved), average):
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    # The per-epoch validation saw the stepped weights; the final figures are the average's.
    assert result.validation_loss != pytest.approx(result.history[-1]["val_loss"], rel=1e-6)


class InterruptAtTheEnd(keras.callbacks.Callback):
    """Stands for a kill after the last epoch's backup, before the run's final files."""

    def on_train_end(self, logs=None):
        raise Interrupted("interrupted after the last epoch")


@pytest.mark.parametrize("interruption", [InterruptAt(2), InterruptAtTheEnd()], ids=["after-epoch-2", "after-the-last"])
def test_an_interrupted_ema_run_resumes_to_the_same_average(tiny_idx_dir, tmp_path, interruption):
    # The backup holds the stepped weights and the average (an optimizer variable); a run resumed with
    # no epoch left puts the average into the model as `fit` would have.
    reference = train(tiny_config(tiny_idx_dir, tmp_path / "uninterrupted", ema=True))
    config = tiny_config(tiny_idx_dir, tmp_path / "interrupted", ema=True)
    with pytest.raises(Interrupted):
        train(config, callbacks=[interruption])
    resumed = train(config)
    for ours, theirs in zip(numpy_weights(resumed.model), numpy_weights(reference.model)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert resumed.test_accuracy == reference.test_accuracy


def test_accumulating_four_batches_steps_as_one_batch_four_times_larger(tiny_idx_dir, tmp_path):
    # Each epoch is the same 64 images either way: one batch of 64, or four of 16 whose gradients are
    # averaged into one AdamW step (clipped and decayed once), with the same peak rate and schedule.
    whole = train(tiny_config(tiny_idx_dir, tmp_path / "whole"))
    accumulated = train(tiny_config(tiny_idx_dir, tmp_path / "accumulated", batch_size=16, grad_accum_steps=4))
    plain = train(tiny_config(tiny_idx_dir, tmp_path / "plain", batch_size=16))  # a step every batch of 16
    assert accumulated.peak_learning_rate == whole.peak_learning_rate == 4 * plain.peak_learning_rate
    assert accumulated.global_batch_size == 16
    np.testing.assert_allclose([row["learning_rate"] for row in accumulated.history],
                               [row["learning_rate"] for row in whole.history], rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose([row["loss"] for row in accumulated.history],
                               [row["loss"] for row in whole.history], rtol=1e-5)  # fmt: skip
    for ours, theirs in zip(numpy_weights(accumulated.model), numpy_weights(whole.model)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    assert any(not np.allclose(ours, theirs, atol=1e-4)
               for ours, theirs in zip(numpy_weights(accumulated.model), numpy_weights(plain.model)))  # fmt: skip
    # The saved optimizer (its schedule read per update) loads back.
    reloaded = keras.saving.load_model(tmp_path / "accumulated" / "model.keras")
    assert reloaded.optimizer.gradient_accumulation_steps == 4
    config = json.loads((tmp_path / "accumulated" / "config.json").read_text())
    assert TrainConfig.from_json(json.dumps(config)).grad_accum_steps == 4  # replayable


def test_more_accumulation_than_an_epoch_has_is_refused(tiny_idx_dir, tmp_path):
    with pytest.raises(ValueError, match=r"grad_accum_steps=5 accumulates more batches than an epoch has "
                                         r"\(4 of 16 images\); valid: 1 to 4\."):  # fmt: skip
        train(tiny_config(tiny_idx_dir, tmp_path, batch_size=16, grad_accum_steps=5))
    assert not (tmp_path / "model.keras").exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("grad_accum_steps", 0, r"grad_accum_steps must be a positive int \(1: no accumulation\); got 0\."),
        ("grad_accum_steps", 2.0, r"grad_accum_steps must be a positive int \(1: no accumulation\); got 2\.0\."),
        ("ema", "yes", r"ema must be True or False; got 'yes'\."),
        ("validation_split", -0.1, r"validation_split must be a number in \[0, 1\) \(0: no validation\); got -0\.1\."),
        ("test_split", 1, r"test_split must be a number in \(0, 1\); got 1\."),
    ],
)
def test_bad_values_are_refused_naming_the_valid_ones(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_cli_flags_set_the_fields_and_config_json_replays_them(tmp_path):
    from keras_vit.cli import parse_args
    from keras_vit.training.cli import config_from_args

    config = config_from_args(parse_args(
        ["train", "--ema", "--grad-accum-steps", "2", "--validation-split", "0.2", "--test-split", "0.3"]
    ))  # fmt: skip
    assert (config.ema, config.grad_accum_steps, config.validation_split, config.test_split) == (True, 2, 0.2, 0.3)
    (tmp_path / "config.json").write_text(config.to_json())
    assert config_from_args(parse_args(["train", "--config", str(tmp_path / "config.json")])) == config
