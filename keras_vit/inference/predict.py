"""`predict`: the top-k classes of each image, from a model object or any artifact."""

import numpy as np

from keras_vit.checks import check_positive_int
from keras_vit.inference.images import find_images, load_images
from keras_vit.inference.runner import open_runner


def softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def predict(model_or_path, images, top_k=5, batch_size=64, progress=None):
    """The `top_k` most likely classes of each image.

    Args:
        model_or_path: a model object or the path of a `.keras` file, SavedModel folder, `.tflite` or
            `.onnx` file (`keras_vit.inference.open_runner`); its class names and image size come from it.
        images: image files, folders (searched recursively) or glob patterns; or an array of raw pixels
            `(N, H, W, C)` at the model's size.
        top_k: how many classes per image (capped at the number of classes).
        batch_size: images per call of the model.
        progress: a callable `progress(done, total)` called after each batch (the CLI's progress bar).

    Returns:
        One dict per image: `image` (its path, or its index in an array), and `top_k`, a list of
        `{"label", "index", "probability"}` from the most likely down (`label` is the class name, or the
        index as text when the model carries no names). Probabilities are the softmax of the logits.
    """
    check_positive_int(top_k, "top_k")
    check_positive_int(batch_size, "batch_size")
    runner = open_runner(model_or_path, batch_size)
    if isinstance(images, np.ndarray):
        names, pixels = list(range(len(images))), images
        if tuple(pixels.shape[1:]) != runner.image_shape:
            raise ValueError(f"Images of shape {pixels.shape} do not fit {runner.source}, which takes (N, "
                             f"{', '.join(map(str, runner.image_shape))}) raw pixels.")
    else:
        names, pixels = find_images(images), None
    records = []
    for start in range(0, len(names), batch_size):
        batch_names = names[start : start + batch_size]
        batch = pixels[start : start + batch_size] if pixels is not None else load_images(batch_names, runner.image_shape)
        probabilities = softmax(runner(batch))
        records += [_record(name, row, runner.class_names, top_k) for name, row in zip(batch_names, probabilities)]
        if progress is not None:
            progress(len(records), len(names))
    return records


def _record(name, probabilities, class_names, top_k):
    order = np.argsort(-probabilities, kind="stable")[:top_k]
    labels = class_names or [str(index) for index in range(len(probabilities))]
    return {
        "image": str(name),
        "top_k": [{"label": labels[i], "index": int(i), "probability": float(probabilities[i])} for i in order],
    }
