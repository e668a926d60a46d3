"""Per-channel input normalization `(x - mean) / std`, the last step of the data pipeline."""

import tensorflow as tf


def _numbers(value):
    values = (value,) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if not isinstance(values, (tuple, list)) or not values:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    return tuple(float(v) for v in values)


def check_normalization(input_normalization):
    """`(mean, std)` as a pair of tuples of floats; else a `ValueError` naming the bad value.

    `mean` and `std` are each a number or a non-empty sequence of numbers (one per channel, or one
    for all channels); every std must be > 0.
    """
    pair = input_normalization if isinstance(input_normalization, (tuple, list)) else ()
    numbers = [_numbers(part) for part in pair] if len(pair) == 2 else [None]
    if None in numbers:
        raise ValueError(
            "input_normalization must be a pair (mean, std), each a number or a sequence of numbers "
            f"(one per channel, or one for all); got {input_normalization!r}."
        )
    mean, std = numbers
    if min(std) <= 0:
        raise ValueError(f"input_normalization's std must be > 0 everywhere; got std={std}.")
    return mean, std


def normalizer(input_normalization, channels):
    """A `tf.data` map function `(images, labels) -> ((images - mean) / std, labels)` for images with
    `channels` channels; a `ValueError` when mean or std has neither 1 nor `channels` values."""
    mean, std = check_normalization(input_normalization)
    for name, values in (("mean", mean), ("std", std)):
        if len(values) not in (1, channels):
            raise ValueError(
                f"input_normalization's {name} has {len(values)} values {values}, but the images have "
                f"{channels} channel(s); give 1 or {channels}."
            )
    mean, std = tf.constant(mean, tf.float32), tf.constant(std, tf.float32)

    def normalize(images, labels):
        return (images - mean) / std, labels

    return normalize
