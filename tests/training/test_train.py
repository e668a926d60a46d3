"""`train()` end to end on a tiny model and 256 real Fashion-MNIST images, and its
distribution over two devices compared with one device at the same global batch."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from subprocesses import python_env, run_python
from tiny_training import summary, tiny_config

BACKEND = keras.backend.backend()
SCRIPT = os.path.join(os.path.dirname(__file__), "tiny_training.py")
tensorflow_only = pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute is TensorFlow-only by nature")


@pytest.fixture(scope="module")
def reference(tiny_idx_dir, tmp_path_factory):
    """One device, global batch 64: the run the distributed ones must match."""
    from keras_vit.training import train

    result = train(tiny_config(tiny_idx_dir, tmp_path_factory.mktemp("reference")))
    return result, summary(result)


def parse_result(stdout):
    return json.loads(next(line for line in stdout.splitlines() if line.startswith("RESULT "))[len("RESULT "):])


def assert_same_training(distributed, reference, rtol=1e-4):
    assert distributed["num_replicas"] == 2
    assert distributed["global_batch_size"] == reference["global_batch_size"] == 64
    assert distributed["peak_learning_rate"] == pytest.approx(reference["peak_learning_rate"])
    np.testing.assert_allclose(distributed["losses"], reference["losses"], rtol=rtol)
    np.testing.assert_allclose(distributed["head_kernel"], reference["head_kernel"], rtol=rtol, atol=1e-5)


def test_train_writes_the_run_and_follows_the_schedule(reference):
    result, _ = reference
    assert result.num_replicas == 1 and result.global_batch_size == 64
    assert result.peak_learning_rate == pytest.approx(8e-3 * 64 / 512)
    assert [row["epoch"] for row in result.history] == [0, 1, 2]
    # One step per epoch, a warm-up of one step, then cosine decay over two: the rate read after
    # each epoch (the one for the next step) is the peak, half of it, then 0.
    learning_rates = [row["learning_rate"] for row in result.history]
    np.testing.assert_allclose(learning_rates, np.array([1.0, 0.5, 0.0]) * result.peak_learning_rate, atol=1e-9)
    assert result.history[2]["loss"] < result.history[1]["loss"]
    # The history's validation is the validation split's: the final model's figures on it are the last epoch's.
    assert result.validation_accuracy == pytest.approx(result.history[-1]["val_accuracy"])
    assert result.validation_loss == pytest.approx(result.history[-1]["val_loss"], rel=1e-5)
    files = set(os.listdir(result.output_dir))
    assert {"model.keras", "best.keras", "history.csv", "history.json", "config.json", "result.json"} <= files
    assert "backup" not in files  # deleted once training finished
    with open(os.path.join(result.output_dir, "result.json")) as f:
        recorded = json.load(f)
    assert recorded["test_accuracy"] == result.test_accuracy
    assert recorded["validation_accuracy"] == result.validation_accuracy
    reloaded = keras.saving.load_model(os.path.join(result.output_dir, "model.keras"), compile=False)
    images = np.random.default_rng(0).uniform(0, 1, (2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), result.model.predict(images, verbose=0), atol=1e-5)


def test_same_seed_gives_the_same_first_epoch_loss(tiny_idx_dir, tmp_path):
    from keras_vit.training import train

    def first_epoch_loss(seed, name):
        config = tiny_config(tiny_idx_dir, tmp_path / name, seed=seed, augment="light", epochs=1, batch_size=16)
        return train(config).history[0]["loss"]

    # Four steps on augmented, shuffled images: the seed fixes the weights and the data stream.
    loss = first_epoch_loss(0, "a")
    assert first_epoch_loss(0, "b") == loss
    assert first_epoch_loss(1, "c") != loss


def test_each_epoch_runs_its_steps_from_the_one_repeated_dataset(tiny_idx_dir, tmp_path):
    from keras_vit.training import train

    class StepCounter(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.steps = []

        def on_epoch_begin(self, epoch, logs=None):
            self.steps.append(0)

        def on_train_batch_end(self, batch, logs=None):
            self.steps[-1] += 1

    counter = StepCounter()
    result = train(tiny_config(tiny_idx_dir, tmp_path, epochs=3, batch_size=16), callbacks=[counter])
    assert counter.steps == [4, 4, 4]  # 64 images in batches of 16, every epoch, none cut short
    assert [row["epoch"] for row in result.history] == [0, 1, 2]


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution.DataParallel is the JAX path")
def test_jax_data_parallel_over_two_devices_matches_one_device(reference, tiny_idx_dir, tmp_path):
    out = run_python(
        [SCRIPT, tiny_idx_dir, tmp_path, "auto", 32], XLA_FLAGS="--xla_force_host_platform_device_count=2"
    )
    assert_same_training(parse_result(out), reference[1])
    assert "DataParallel over 2 devices" in out


@tensorflow_only
def test_mirrored_strategy_over_two_cpus_matches_one_device(reference, tiny_idx_dir, tmp_path):
    code = (
        "import sys, runpy, tensorflow as tf; "
        "cpu = tf.config.list_physical_devices('CPU')[0]; "
        "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2); "
        "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    out = run_python(["-c", code, SCRIPT, tiny_idx_dir, tmp_path, "mirrored", 32])
    assert_same_training(parse_result(out), reference[1])
    assert "MirroredStrategy (2 replicas)" in out


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@tensorflow_only
def test_multi_worker_mirrored_two_workers_agree_and_match_one_device(reference, tiny_idx_dir, tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        processes.append(
            subprocess.Popen(
                [sys.executable, SCRIPT, str(tiny_idx_dir), str(tmp_path), "multi_worker", "32"],
                env=python_env(TF_CONFIG=tf_config),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, f"{stdout[-3000:]}\n{stderr[-3000:]}"
        outputs.append(parse_result(stdout))
    chief, worker = outputs
    assert chief == worker  # same losses, same weights
    assert_same_training(chief, reference[1])
    assert (tmp_path / "model.keras").exists() and (tmp_path / "worker_1" / "model.keras").exists()


def test_strategy_not_on_this_backend_is_a_clear_error():
    from keras_vit.training import get_distribution

    wrong = "data_parallel" if BACKEND != "jax" else "mirrored"
    with pytest.raises(ValueError, match=f"strategy='{wrong}' is not available on the {BACKEND} backend; valid: auto"):
        get_distribution(wrong)


def test_check_config_refuses_an_invalid_field_value_before_the_data_is_read():
    from keras_vit.training import TrainConfig
    from keras_vit.training.train import check_config

    with pytest.raises(ValueError, match="dist_token_init_std=1e-06 initializes the distillation token"):
        check_config(TrainConfig(model="vit_nano_patch4_28", model_overrides=dict(dist_token_init_std=1e-6)))
    with pytest.raises(ValueError, match="pooling must be one of"):
        check_config(TrainConfig(model="vit_nano_patch4_28", model_overrides=dict(pooling="max")))
    # The image size is the data's: a patch size that divides only the data's images passes here.
    check_config(TrainConfig(model="vit_nano_patch4_28", model_overrides=dict(patch_size=8)))
    check_config(TrainConfig(model="deit_nano_distilled_patch4_28", model_overrides=dict(dist_token_init_std=1e-6)))
