"""A tiny training run shared by the tests and the subprocesses they start.

Run as a script: `python tiny_training.py DATA_DIR OUTPUT_DIR STRATEGY BATCH_SIZE` trains
`tiny_config` and prints one JSON line `RESULT {...}` with the run's figures and its first
weights, for the parent test to compare.
"""

import json
import sys

import keras

from keras_vit.training import TrainConfig

# A 1-block ViT on 28x28 grayscale patches of 7: a few seconds of training on any backend.
TINY_MODEL = dict(patch_size=7, dim=32, depth=1, num_heads=2, mlp_dim=64)
# A fifth of the 80 training images is held out for validation (16), and one global batch of 64 is
# the rest, so every epoch is one step on the same images, whatever order a distributed input
# pipeline reads them in: runs on one and on two devices must then agree step for step.
NUM_TRAIN, NUM_TEST, GLOBAL_BATCH, VALIDATION_SPLIT = 80, 128, 64, 0.2
# XLA is the default on TensorFlow but compiles slowly on CPU; tests other than the CLI's skip it
# there. JAX always compiles (eager JAX is far slower).
TEST_JIT = keras.backend.backend() == "jax"
# What `get_datasets` says of Fashion-MNIST, for building a run's model without its data.
DATA_INFO = dict(image_shape=(28, 28, 1), num_classes=10, class_names=[f"class_{i}" for i in range(10)])


def tiny_config(data_dir, output_dir, **changes):
    fields = dict(
        name="tiny",
        model="vit_nano_patch4_28",
        model_overrides=TINY_MODEL,
        data="fashion_mnist_idx",
        data_dir=str(data_dir),
        validation_split=VALIDATION_SPLIT,
        augment="none",
        epochs=3,
        batch_size=GLOBAL_BATCH,
        warmup_epochs=1,
        base_learning_rate=8e-3,
        output_dir=str(output_dir),
        tensorboard=False,
        verbose=0,
        jit_compile=TEST_JIT,
    )
    fields.update(changes)
    return TrainConfig(**fields)


class Interrupted(Exception):
    """Stands for a kill in in-process tests: raised by `InterruptAt`, it ends `train` where it is."""


class InterruptAt(keras.callbacks.Callback):
    """Raises `Interrupted` when epoch `epoch` (0-based) begins, i.e. after `epoch` finished epochs."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Interrupted(f"interrupted before epoch {epoch}")


class PoisonWeights(keras.callbacks.Callback):
    """Sets the head's bias to NaN before step `step` of epoch `epoch` (both 0-based), or with
    `after_step` right after it: the loss of every later step, or the validation loss, is then NaN."""

    def __init__(self, epoch, step, after_step=False):
        super().__init__()
        self.epoch, self.step, self.after_step = epoch, step, after_step

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if not self.after_step:
            self._poison(batch)

    def on_train_batch_end(self, batch, logs=None):
        if self.after_step:
            self._poison(batch)

    def _poison(self, batch):
        if (self.current_epoch, batch) != (self.epoch, self.step):
            return
        # JAX's fit holds the variables outside the model during an epoch: put them back first, so the
        # assignment is what the next step (or the validation) reads.
        getattr(self.model, "jax_state_sync", lambda: None)()
        bias = self.model.head.bias
        bias.assign(keras.ops.full(bias.shape, float("nan"), bias.dtype))


def summary(result):
    """The figures of a `TrainResult` that runs on different devices should share."""
    head = result.model.head.kernel
    return dict(
        num_replicas=result.num_replicas,
        global_batch_size=result.global_batch_size,
        peak_learning_rate=result.peak_learning_rate,
        losses=[row["loss"] for row in result.history],
        test_accuracy=result.test_accuracy,
        head_kernel=keras.ops.convert_to_numpy(head).ravel()[:16].tolist(),
    )


if __name__ == "__main__":
    from keras_vit.training import train

    data_dir, output_dir, strategy, batch_size = sys.argv[1:5]
    result = train(tiny_config(data_dir, output_dir, strategy=strategy, batch_size=int(batch_size)))
    print("RESULT " + json.dumps(summary(result)), flush=True)
