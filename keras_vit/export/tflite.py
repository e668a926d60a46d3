"""TFLite (LiteRT) flatbuffers: fp32, float16, dynamic-range int8 and full-integer int8.

Conversion is TensorFlow only by nature (`model.export(format="litert")` under the
TensorFlow backend); running uses the LiteRT interpreter (`ai_edge_litert`) by signature.
"""

import numpy as np

SIGNATURE = "serving_default"
QUANTIZATIONS = ("float16", "dynamic", "int8")


def converter_options(quantize=None, representative_images=None):
    """Keyword arguments for `model.export(format="litert")`, i.e. TFLiteConverter attributes.

    Only builtin ops are allowed (Keras would also allow Flex ops, which the plain LiteRT
    runtime cannot run): a graph that needs one fails at conversion rather than at load.
    `"int8"` quantizes every op to int8 (`TFLITE_BUILTINS_INT8`, calibrated on
    `representative_images`) and keeps float32 input and output, quantized at the boundary.
    """
    import tensorflow as tf

    builtins = tf.lite.OpsSet.TFLITE_BUILTINS
    if quantize is None:
        return {"target_spec": {"supported_ops": [builtins]}}
    options = {"optimizations": [tf.lite.Optimize.DEFAULT]}
    if quantize == "float16":
        options["target_spec"] = {"supported_ops": [builtins], "supported_types": [tf.float16]}
    elif quantize == "dynamic":
        options["target_spec"] = {"supported_ops": [builtins]}
    else:
        options["target_spec"] = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]}
        options["representative_dataset"] = lambda: ([image[None]] for image in representative_images)
    return options


def write(model, path, quantize=None, representative_images=None):
    model.export(str(path), format="litert", verbose=False, **converter_options(quantize, representative_images))


def load(path, num_threads=None):
    """The `.tflite` file at `path` as a function `images (B, H, W, C) -> outputs (B, ...)` (numpy).

    Runs the `serving_default` signature and reads its single output by name; the images are cast to the
    input's dtype (float32, or uint8 for an export with `input_dtype="uint8"`); the batch size may change
    from call to call. `predict.input_shape` is the `(H, W, C)` it takes.
    """
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path), num_threads=num_threads).get_signature_runner(SIGNATURE)
    ((input_name, input_details),) = runner.get_input_details().items()
    (output_name,) = runner.get_output_details()

    def predict(images):
        return np.array(runner(**{input_name: np.asarray(images, input_details["dtype"])})[output_name])

    predict.input_shape = tuple(int(d) for d in input_details["shape"][1:])
    return predict
