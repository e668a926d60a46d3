"""ONNX, written by tf2onnx (`model.export(format="onnx")` under the TensorFlow backend) and
run with ONNX Runtime.

Always converted from the TensorFlow graph: the torch backend's own ONNX export
(`torch.onnx`) fixes the batch size, failing in layer norm on any other batch size.
"""

import numpy as np


def write(model, path):
    import tensorflow as tf

    # An explicit signature: Keras refuses to infer one for a model reloaded and never called.
    (spec,) = model.inputs
    signature = [tf.TensorSpec(spec.shape, spec.dtype, name=spec.name)]
    model.export(str(path), format="onnx", verbose=False, input_signature=signature)


def load(path):
    """The `.onnx` file at `path` as a function `images (B, H, W, C) -> outputs (B, ...)` (numpy), with
    `input_shape`, the `(H, W, C)` it takes."""
    import onnxruntime

    runtime = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (model_input,) = runtime.get_inputs()
    (model_output,) = runtime.get_outputs()
    dtype = "uint8" if model_input.type == "tensor(uint8)" else "float32"

    def predict(images):
        return runtime.run([model_output.name], {model_input.name: np.asarray(images, dtype)})[0]

    # Dynamic dimensions are names (or None) in ONNX Runtime's shapes.
    predict.input_shape = tuple(d if isinstance(d, int) else None for d in model_input.shape[1:])
    return predict
