"""Write an artifact for a model built under JAX or torch by reloading it under TensorFlow.

SavedModel, TFLite and tf2onnx all convert a TensorFlow graph, and a process's Keras backend
is fixed once Keras is imported; so the model is saved as `.keras` and reloaded in a worker
process with `KERAS_BACKEND=tensorflow`. The worker stays up for later exports (importing
TensorFlow costs seconds) and exits with this process. JAX's own SavedModel export (jax2tf) is
not used: jax 0.10 serializes StableHLO (`vhlo.composite_v2`) that TensorFlow 2.21's TFLite
converter cannot read. Layers must be registered Keras serializables importable in the
worker (every keras_vit layer is).
"""

import atexit
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import traceback

import numpy as np

PACKAGE_ROOT = str(pathlib.Path(__file__).resolve().parents[2])
_worker = None


def start_worker():
    log = tempfile.TemporaryFile("w+")
    python_path = os.pathsep.join(filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": python_path}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    process = subprocess.Popen(
        [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env, text=True
    )
    process.log = log
    atexit.register(stop_worker, process)
    return process


def stop_worker(process):
    process.stdin.close()  # the worker exits at end of input
    process.wait(timeout=60)


def write(model, path, format, quantize=None, representative_images=None, input_dtype="float32"):
    """Write `model` to `path` as `format` from the TensorFlow-backend worker."""
    global _worker
    if _worker is None or _worker.poll() is not None:
        _worker = start_worker()
    with tempfile.TemporaryDirectory() as scratch:
        job = dict(
            model=os.path.join(scratch, "model.keras"), path=str(path), format=format, quantize=quantize,
            input_dtype=input_dtype,
        )  # fmt: skip
        model.save(job["model"])
        if representative_images is not None:
            job["images"] = os.path.join(scratch, "representative_images.npy")
            np.save(job["images"], representative_images)
        _worker.stdin.write(json.dumps(job) + "\n")
        _worker.stdin.flush()
        answer = _worker.stdout.readline()
    error = json.loads(answer)["error"] if answer else f"the worker exited:\n{worker_log_tail()}"
    if error:
        raise RuntimeError(f"Writing {format} under the TensorFlow backend (worker process) failed: {error}")


def worker_log_tail():
    _worker.log.seek(0)
    return _worker.log.read()[-4000:]


def serve():
    """Worker loop: one JSON job per input line, one JSON answer (`error`: None or text) per job."""
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything else printed goes to the log, not into the answers

    import keras

    import keras_vit  # noqa: F401  (registers the keras_vit layers for loading)
    from keras_vit.export.api import write as write_here

    for line in sys.stdin:
        job = json.loads(line)
        try:
            model = keras.saving.load_model(job["model"], compile=False)
            images = np.load(job["images"]) if "images" in job else None
            write_here(model, job["path"], job["format"], job["quantize"], images, job["input_dtype"])
            error = None
        except Exception:
            error = traceback.format_exc()[-4000:]
        keras.backend.clear_session()
        answers.write(json.dumps(dict(error=error)) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
