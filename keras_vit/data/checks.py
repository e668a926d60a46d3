"""Checks of the data itself, at load time: labels within the classes, pixels that are pixels.

Each error names the source (a file, a dataset and split, an array), the bad values with their count
and the valid range, so a bad label fails before training rather than being trained on (TensorFlow and
JAX gather no error for an out-of-range sparse label; with label smoothing it becomes an all-zero
target on every backend) or failing mid-epoch (torch's "Target 12 is out of bounds").
"""

import numpy as np

MAX_LISTED = 8


def _listed(values):
    values, counts = np.unique(values, return_counts=True)
    listed = ", ".join(f"{value!r} ({count}x)" for value, count in zip(values.tolist()[:MAX_LISTED], counts))
    return listed + (f" and {len(values) - MAX_LISTED} more" if len(values) > MAX_LISTED else "")


def check_labels(labels, num_classes, source):
    """Raise a `ValueError` naming `source` unless every label is an integer in `[0, num_classes)`."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind != "f" or not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ValueError(f"{source} holds labels of dtype {labels.dtype} that are not whole numbers; labels are "
                             f"class indices 0 to {num_classes - 1}.")  # fmt: skip
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        first = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(
            f"{source} holds {int(bad.sum())} label(s) outside [0, {num_classes}): {_listed(labels[bad])}, the "
            f"first at index {first}. With {num_classes} classes the valid labels are 0 to {num_classes - 1}."
        )
    return labels


def check_pixel_values(images, source):
    """Raise a `ValueError` naming `source` unless `images` hold finite raw pixel values in [0, 255]
    (always true of uint8 images; float images are checked)."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind not in "iuf":
        raise ValueError(f"{source} holds images of dtype {images.dtype}; expected pixel values (uint8 or float).")
    finite = np.isfinite(images)
    if not finite.all():
        index = int(np.flatnonzero(~finite.reshape(len(images), -1).all(axis=1))[0])
        raise ValueError(
            f"{source} holds {int(finite.size - finite.sum())} non-finite pixel value(s) "
            f"({_listed(images[~finite])}), the first in image {index}. Images are raw pixel values, finite, in "
            "[0, 255]."
        )
    low, high = float(images.min()), float(images.max())
    if low < 0 or high > 255:
        raise ValueError(
            f"{source} holds pixel values in [{low:g}, {high:g}]; images are raw pixel values in [0, 255]."
        )
    return images
