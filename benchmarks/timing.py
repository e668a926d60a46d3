"""Shared by the benchmark scripts: child processes (one backend each), timers, the matmul peak."""

import os
import resource
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")


def check_backends(text):
    """A comma-separated list of backend names, validated."""
    backends = [name for name in text.split(",") if name]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        raise SystemExit(f"Unknown or no backend(s) {unknown or text!r}; valid: {', '.join(BACKENDS)}.")
    return backends


def run_child(backend, argv):
    """Run `python argv...` with `KERAS_BACKEND=backend` (Keras reads it once, at import).

    Returns the stdout lines that start with `RESULT ` (without the prefix); the child's
    other output is passed through.
    """
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    child = subprocess.Popen([sys.executable, *argv], env=env, stdout=subprocess.PIPE, text=True)
    results = []
    for line in child.stdout:
        if line.startswith("RESULT "):
            results.append(line[len("RESULT "):])
        else:
            print(line, end="", flush=True)
    if child.wait():
        raise SystemExit(f"{' '.join(argv)} failed under {backend} with exit status {child.returncode}")
    return results


def check_backend(backend):
    """Fail unless Keras is imported with `backend` in this process."""
    actual = os.environ.get("KERAS_BACKEND")
    if actual != backend:
        raise SystemExit(f"--backend {backend} needs KERAS_BACKEND={backend} set before start; got {actual!r}.")


def load_average():
    """The 1-minute load average (other users of the cores), for the record beside each figure."""
    return os.getloadavg()[0]


def peak_rss_bytes():
    """This process's peak resident memory so far (Linux reports `ru_maxrss` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def seconds_to_last_step(model, method, *args, **kwargs):
    """Wall-clock and CPU seconds of `model.fit(...)` or `model.predict(...)` (`method`, a name),
    from the call to the end of its last step: the callbacks' `on_train_end` / `on_predict_end`,
    after waiting for the last weight update (a queued JAX step included).

    What Keras does after that hook is left out: on TensorFlow, dropping the call's tf.data
    iterator, which waits for a tf.data background thread and so can block for seconds (a
    multiple of its wake-up period; see benchmarks/README.md). That is a cost per call, not per
    step, and it hid the model's work in one-step calls. `kwargs` must not hold `callbacks`.
    """
    import keras

    end = {}

    class StopClock(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            keras.ops.convert_to_numpy(model.trainable_variables[-1].value)
            end["times"] = time.perf_counter(), time.process_time()

        on_predict_end = on_train_end

    wall, cpu = time.perf_counter(), time.process_time()
    getattr(model, method)(*args, callbacks=[StopClock()], **kwargs)
    end_wall, end_cpu = end["times"]
    return end_wall - wall, end_cpu - cpu


def limit_threads(backend, threads):
    """Run this process's numerical work on `threads` threads. Call before importing Keras."""
    os.environ.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if backend == "jax":
        eigen = "false" if threads == 1 else "true"
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + f" --xla_cpu_multi_thread_eigen={eigen} intra_op_parallelism_threads={threads}"
        )
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)


def matmul_flops_per_second(size=2048, repeats=3, dtype="float32", chain=1, clock=time.perf_counter):
    """Best FLOP/s of `chain` products `(size, size) @ (size, size)` with keras.ops on this backend.

    One element of the last product is converted to numpy, which waits for all of them to finish
    (on a GPU, `chain` > 1 hides the launch and copy overhead). `clock=time.process_time` counts
    CPU seconds instead of wall-clock seconds.
    """
    import keras

    a = keras.random.normal((size, size), seed=0, dtype=dtype)
    b = keras.random.normal((size, size), seed=1, dtype=dtype)

    def products():
        out = a
        for _ in range(chain):
            out = keras.ops.matmul(a, b)
        keras.ops.convert_to_numpy(out[0, 0])

    def timed():
        start = clock()
        products()
        return clock() - start

    products()  # warm-up
    best = min(timed() for _ in range(repeats))
    return chain * 2 * size**3 / best


def epoch_timer(batch_size):
    """A Keras callback printing each epoch's validation accuracy (on the split held out of the training
    data), train accuracy, wall time and training images/s (the validation pass included)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.start
            print(
                f"epoch {epoch + 1}: validation_accuracy {logs['val_accuracy']:.4f}  "
                f"train_accuracy {logs['accuracy']:.4f}  "
                f"{seconds:.0f} s  {self.params['steps'] * batch_size / seconds:.0f} images/s (incl. validation pass)",
                flush=True,
            )

    return EpochTimer()


def add_recipe_arguments(parser, output_dir):
    """The flags of the recipe benchmarks that change the recipe: --epochs, --augment, --set, --output-dir."""
    parser.add_argument("--epochs", type=int, help="default: the recipe's")
    parser.add_argument("--augment", help="an AugmentConfig preset (default: the recipe's)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a model override, as in keras-vit train")
    parser.add_argument("--output-dir", default=output_dir)


def recipe_changes(recipe, args):
    """The `TrainConfig` fields that `add_recipe_arguments`' flags change in `recipe` (and quiet output)."""
    from keras_vit.training.cli import set_overrides

    changes = dict(output_dir=args.output_dir, verbose=0, model_overrides=set_overrides(recipe.model_overrides, args.set))
    if args.epochs:
        changes["epochs"] = args.epochs
    if args.augment:
        changes["augment"] = args.augment
    return changes


def train_and_report(config, after_training=None):
    """Trains `config`, printing every epoch (`epoch_timer`), then calls `after_training` (if given), then
    prints the run's setting, speed, wall time, validation accuracy and, last, its test accuracy (the line
    scripts read); returns the `TrainResult`."""
    import keras

    from keras_vit.training import train

    start = time.perf_counter()
    result = train(config, callbacks=[epoch_timer(config.batch_size)])
    total_seconds = time.perf_counter() - start
    if after_training is not None:
        after_training()
    print(f"backend: {keras.backend.backend()}, model: {config.model} {dict(config.model_overrides)}, "
          f"{config.epochs} epochs, global batch {result.global_batch_size}, cores: {os.cpu_count()}")
    print(f"training: {result.fit_seconds:.0f} s, {result.images_per_second:.0f} images/s "
          "(incl. per-epoch validation passes)")
    print(f"wall time: {total_seconds:.0f} s ({total_seconds / 60:.1f} min, incl. data loading and compilation)")
    print(f"validation_accuracy: {result.validation_accuracy:.4f} (best {result.best_validation_accuracy:.4f} at epoch "
          f"{result.best_epoch + 1})")
    print(f"test_accuracy: {result.test_accuracy:.4f}")
    return result
