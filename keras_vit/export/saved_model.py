"""TF SavedModel: a `serving_default` signature taking images (float or uint8) with a dynamic batch.

TensorFlow only by nature; `write` needs the TensorFlow backend (other backends go through
`tf_subprocess`), `load` only needs TensorFlow installed.
"""

import numpy as np

SIGNATURE = "serving_default"


def write(model, path):
    model.export(str(path), format="tf_saved_model", verbose=False)


def load(path):
    """The SavedModel at `path` as a function `images (B, H, W, C) -> outputs (B, ...)` (numpy), with
    `input_shape`, the `(H, W, C)` it takes."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    serve = loaded.signatures[SIGNATURE]
    (input_name,) = serve.structured_input_signature[1]
    (output_name,) = serve.structured_outputs

    dtype = serve.structured_input_signature[1][input_name].dtype

    def predict(images):
        return serve(**{input_name: tf.constant(np.asarray(images), dtype)})[output_name].numpy()

    predict.saved_model = loaded  # keeps alive the variables the signature reads
    predict.input_shape = tuple(serve.structured_input_signature[1][input_name].shape[1:])
    return predict
