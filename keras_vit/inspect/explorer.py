"""The attention explorer: one self-contained HTML page to click through a ViT's attention.

The page (`explorer.html`, filled in here) holds everything inline: the images' pixels, every block's
and head's attention weights and the rollout as base64 float32 arrays, the predictions, and PNG figures
as data URIs; its script draws the maps on canvases. It opens from disk in any browser, with no server
and no network.
"""

import base64
import json
import pathlib

import numpy as np

from keras_vit.files import write_text
from keras_vit.inspect.attention import attention_model, run_in_batches
from keras_vit.inspect.model_parts import check_images
from keras_vit.inspect.rollout import rollout_steps
from keras_vit.models.vit import check_vision_transformer

TEMPLATE = pathlib.Path(__file__).with_name("explorer.html")
# The page holds at most this many images (their attention grows with layers * heads * tokens^2).
MAX_IMAGES = 8


def _base64(array, dtype):
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def _softmax(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def explorer_data(model, images, labels=None, figures=(), batch_size=32):
    """What the page shows, as the JSON-ready dict its script reads (see `write_explorer`)."""
    model = check_vision_transformer(model, "The attention explorer")
    images = check_images(model, images)[:MAX_IMAGES]
    encoder = model.patch_encoder
    outputs = run_in_batches(attention_model(model), images, batch_size)
    weights = np.stack(outputs[: len(model.blocks)])
    probabilities = _softmax(outputs[len(model.blocks)].astype("float64"))
    class_names = model.class_names or [str(index) for index in range(probabilities.shape[-1])]
    if labels is not None:
        labels = [int(label) for label in np.asarray(labels)[: len(images)]]
        if len(labels) != len(images) or not all(0 <= label < len(class_names) for label in labels):
            raise ValueError(f"labels must be one class index in [0, {len(class_names)}) per image; got {labels}.")
    return {
        "model": model.name,
        "grid": list(encoder.grid_size),
        "patch": list(encoder.patch_size),
        "prefix": encoder.num_prefix_tokens,
        "classToken": bool(encoder.class_token),
        "layers": len(model.blocks),
        "heads": weights.shape[2],
        "tokens": weights.shape[-1],
        "images": len(images),
        "height": images.shape[1],
        "width": images.shape[2],
        "channels": images.shape[3],
        "pixels": _base64(np.clip(np.round(images), 0, 255), "uint8"),
        "attention": _base64(weights, "<f4"),
        "rollout": _base64(rollout_steps(weights), "<f4"),
        "classNames": list(class_names),
        "probabilities": probabilities.round(5).tolist(),
        "labels": labels,
        "figures": [{"title": title, "src": "data:image/png;base64," + base64.b64encode(
            pathlib.Path(path).read_bytes()).decode("ascii")} for title, path in figures],  # fmt: skip
    }


def write_explorer(model, images, path, *, labels=None, figures=(), batch_size=32):
    """Write the attention explorer of a ViT / DeiT on `images` to the HTML file `path`; returns `path`.

    Args:
        model: a keras_vit `VisionTransformer`.
        images: raw pixels `(B, H, W, C)` (the first `MAX_IMAGES` are shown).
        labels: optional class indices, one per image, shown beside the predictions.
        figures: `(title, png_path)` pairs embedded below the maps (e.g. the distance, frequency,
            Hessian and landscape plots of `write_report` and `write_curvature_report`).

    In the page, clicking an image selects it; hovering over or clicking a patch shows where that patch
    attends in the chosen block and head (or the mean of the heads), and its attention rollout through
    the blocks up to the chosen one; the class-token button shows the classifier's query.
    """
    data = explorer_data(model, images, labels, figures, batch_size)
    # "</" inside the inline script would end it early; "<\/" is the same string to JavaScript.
    text = json.dumps(data).replace("</", "<\\/")
    title = data["model"].replace("&", "&amp;").replace("<", "&lt;")
    page = TEMPLATE.read_text().replace("__TITLE__", title).replace("__DATA__", text)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, page)
    return path
