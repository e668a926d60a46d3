"""Picking how a run is spread over devices, per Keras backend.

- TensorFlow (tf.distribute, TF-only by nature): `"auto"` is a `MirroredStrategy` over all
  visible GPUs when there are any, else the default single-device strategy; `"one_device"`
  is a `OneDeviceStrategy` on the first GPU (else the CPU); `"mirrored"` mirrors over all GPUs,
  or over all logical CPU devices when there is no GPU; `"multi_worker"` is a
  `MultiWorkerMirroredStrategy` configured by the `TF_CONFIG` environment variable; `"tpu"`
  connects to the TPU cluster (untested here: no TPU).
- JAX: `"auto"` / `"data_parallel"` is `keras.distribution.DataParallel` over all devices
  (one device: no distribution); `"one_device"` uses the first device only.
- PyTorch: single device only (`"auto"` / `"one_device"`); Keras has no multi-device
  `model.fit` for torch.
"""

import contextlib
import dataclasses
import os

import keras

STRATEGIES = {
    "tensorflow": ("auto", "one_device", "mirrored", "multi_worker", "tpu"),
    "jax": ("auto", "one_device", "data_parallel"),
    "torch": ("auto", "one_device"),
}


@dataclasses.dataclass
class Distribution:
    """How a run is distributed: build the model and call `fit` inside `scope()`.

    `num_replicas` is the number of model copies a global batch is split over;
    `worker` is None for the process that writes the run's files (the only one, or the
    multi-worker chief), else a name such as `"worker_1"` for a subfolder of its own.
    """

    description: str
    num_replicas: int
    scope: object = contextlib.nullcontext
    worker: str = None


def get_distribution(strategy="auto"):
    """The `Distribution` for `strategy` on the current Keras backend."""
    backend = keras.backend.backend()
    valid = STRATEGIES.get(backend, ("auto", "one_device"))
    if strategy not in valid:
        raise ValueError(
            f"strategy={strategy!r} is not available on the {backend} backend; valid: {', '.join(valid)}."
        )
    if backend == "tensorflow":
        return _tensorflow(strategy)
    if backend == "jax":
        return _jax(strategy)
    return Distribution(f"single device ({backend})", 1)


def _tensorflow(strategy):
    import tensorflow as tf

    if strategy == "multi_worker":
        return _tensorflow_multi_worker()
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    if strategy == "auto" and not gpus:
        tf_strategy = tf.distribute.get_strategy()
        return Distribution("default strategy (one CPU device)", 1, tf_strategy.scope)
    if strategy in ("auto", "mirrored"):
        devices = gpus or [d.name for d in tf.config.list_logical_devices("CPU")]
        tf_strategy = tf.distribute.MirroredStrategy(devices)
    elif strategy == "one_device":
        tf_strategy = tf.distribute.OneDeviceStrategy(gpus[0] if gpus else "/cpu:0")
    else:  # tpu
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        tf_strategy = tf.distribute.TPUStrategy(resolver)
    replicas = tf_strategy.num_replicas_in_sync
    return Distribution(f"{type(tf_strategy).__name__} ({replicas} replicas)", replicas, tf_strategy.scope)


def _tensorflow_multi_worker():
    import tensorflow as tf

    from keras_vit.training.multi_worker_patch import patch_keras_for_multi_worker

    if not os.environ.get("TF_CONFIG"):
        raise ValueError(
            "strategy='multi_worker' needs the TF_CONFIG environment variable, e.g. "
            '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}.'
        )
    # Created before anything else touches the TF runtime, as MultiWorkerMirroredStrategy requires.
    tf_strategy = tf.distribute.MultiWorkerMirroredStrategy()
    patch_keras_for_multi_worker()
    resolver = tf_strategy.cluster_resolver
    # Every worker writes files; only the chief's go to output_dir itself.
    worker = None if tf_strategy.extended.should_checkpoint else f"{resolver.task_type}_{resolver.task_id}"
    replicas = tf_strategy.num_replicas_in_sync
    return Distribution(f"MultiWorkerMirroredStrategy ({replicas} replicas)", replicas, tf_strategy.scope, worker)


def _jax(strategy):
    devices = keras.distribution.list_devices()
    if strategy == "one_device" or len(devices) == 1:
        return Distribution(f"single device ({devices[0]})", 1)
    data_parallel = keras.distribution.DataParallel(devices=devices)
    return Distribution(f"DataParallel over {len(devices)} devices", len(devices), data_parallel.scope)
