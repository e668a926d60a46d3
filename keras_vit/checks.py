"""Every argument check of the package, once: each error names the bad value and what would be valid."""


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def to_pair(value, name):
    """`value` as a `(height, width)` pair of positive ints; an int means a square."""
    pair = (value, value) if _is_int(value) else tuple(value) if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(_is_int(v) and v > 0 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of positive ints (h, w); got {value!r}.")
    return pair


def check_positive_int(value, name, one_means=None):
    """An int >= 1; `one_means` says what 1 stands for in the message (e.g. "no accumulation")."""
    if not _is_int(value) or value <= 0:
        meaning = f" (1: {one_means})" if one_means else ""
        raise ValueError(f"{name} must be a positive int{meaning}; got {value!r}.")
    return value


def check_non_negative_int(value, name, zero_means=None):
    """An int >= 0; `zero_means` says what 0 stands for in the message (e.g. "none")."""
    if not _is_int(value) or value < 0:
        meaning = f" (0: {zero_means})" if zero_means else ""
        raise ValueError(f"{name} must be an int >= 0{meaning}; got {value!r}.")
    return value


def check_positive_number(value, name):
    if not _is_number(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}.")
    return value


def check_number_in(value, name, low, high, *, low_open=False, high_open=False, meaning=""):
    """A number in the interval from `low` to `high`, each end closed unless `*_open`; `meaning` (e.g.
    "1: no decay") is added to the message."""
    above = _is_number(value) and (low < value if low_open else low <= value)
    below = _is_number(value) and (value < high if high_open else value <= high)
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a number in {interval}{f' ({meaning})' if meaning else ''}; got {value!r}.")
    return float(value)


def check_rate(value, name):
    """A dropout-like rate in [0, 1)."""
    return check_number_in(value, name, 0.0, 1.0, high_open=True)


def check_label_smoothing(value):
    """Label smoothing in [0, 1): targets `(1 - s) * one_hot + s / num_classes`."""
    return check_number_in(value, "label_smoothing", 0.0, 1.0, high_open=True)


def check_validation_split(value):
    """The fraction of the training data held out for validation, in [0, 1); 0: no validation."""
    return check_number_in(value, "validation_split", 0.0, 1.0, high_open=True, meaning="0: no validation")


def check_test_split(value):
    """The fraction of a source without a test split (a flat image folder) held out as test data, in (0, 1)."""
    return check_number_in(value, "test_split", 0.0, 1.0, low_open=True, high_open=True)


def check_interval(value, name, low, high):
    """A pair `(min, max)` with `low < min <= max <= high`."""
    if not (isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_is_number, value))
            and low < value[0] <= value[1] <= high):  # fmt: skip
        raise ValueError(f"{name} must be a pair (min, max) with {low} < min <= max <= {high}; got {value!r}.")
    return tuple(value)


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value


def check_bool(value, name):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False; got {value!r}.")
    return value


def check_divisible(image_size, patch_size):
    """Raise unless an `(h, w)` image splits into whole `(ph, pw)` patches."""
    if image_size[0] % patch_size[0] or image_size[1] % patch_size[1]:
        raise ValueError(
            f"Image size {image_size[0]}x{image_size[1]} is not divisible by patch size "
            f"{patch_size[0]}x{patch_size[1]}."
        )


# Channel counts of image files (gray, gray + alpha, RGB, RGBA): what axis 1 holds when images are channels-first.
IMAGE_CHANNELS = (1, 2, 3, 4)


def looks_channels_first(shape):
    """Whether an image batch `shape` reads as channels-first `(B, C, H, W)`: axis 1 an image file's channel
    count and both later axes longer than any (a channels-last image 1-4 pixels tall with more than 4
    channels is not one anybody feeds a ViT; a small feature map such as `(B, 4, 4, 512)` does not match)."""
    if len(shape) != 4 or None in tuple(shape[1:]):
        return False
    return shape[1] in IMAGE_CHANNELS and shape[2] > max(IMAGE_CHANNELS) and shape[3] > max(IMAGE_CHANNELS)


def check_channels_last(shape, who, expected=None):
    """Raise unless image batch `shape` is channels-last `(B, H, W, C)`: rank 4, not looking channels-first
    (see `looks_channels_first`), and, with `expected` `(H, W, C)`, equal to it where both are known.
    `who` names the layer or function the images were given to."""
    shape = tuple(shape)
    if looks_channels_first(shape):
        raise ValueError(
            f"{who} got images of shape {shape}, which looks channels-first (B, C, H, W): {shape[1]} channel(s) of "
            f"{shape[2]}x{shape[3]} pixels. keras_vit takes images channels-last, (B, H, W, C)"
            + (f" = (B, {', '.join(map(str, expected))})" if expected else "")
            + ": transpose them, e.g. np.transpose(images, (0, 2, 3, 1))."
        )
    if len(shape) != 4:
        raise ValueError(f"{who} expects images of rank 4 (B, H, W, C); got shape {shape}.")
    if expected is not None and any(e is not None and s is not None and e != s for e, s in zip(expected, shape[1:])):
        raise ValueError(f"{who} takes images (B, H, W, C) = (B, {', '.join(map(str, expected))}); got shape {shape}.")


def check_heads(dim, num_heads):
    """`dim` splits into `num_heads` heads of equal width."""
    if dim % num_heads:
        raise ValueError(f"dim={dim} is not divisible by num_heads={num_heads}.")


# timm's and DeiT's truncated-normal standard deviation for the distillation token
DIST_TOKEN_INIT_STD = 0.02


def check_stem_entry_width(value, patch_embedding):
    """`stem_entry_width`: an int >= 0, non-zero only with a conv stem."""
    check_non_negative_int(value, "stem_entry_width", zero_means="none")
    if value and patch_embedding != "conv_stem":
        raise ValueError(
            f"stem_entry_width={value} adds a convolution to the conv stem, but patch_embedding is "
            f"{patch_embedding!r}; set patch_embedding='conv_stem' or stem_entry_width=0."
        )
    return value


def check_dist_token_init_std(value, distillation_token):
    """`dist_token_init_std`: a positive number, other than the default 0.02 only with a distillation token."""
    check_positive_number(value, "dist_token_init_std")
    if value != DIST_TOKEN_INIT_STD and not distillation_token:
        raise ValueError(
            f"dist_token_init_std={value} initializes the distillation token, but distillation_token is False; "
            f"set distillation_token=True (a DeiT: build_deit) or leave dist_token_init_std at {DIST_TOKEN_INIT_STD}."
        )
    return float(value)


def check_num_classes(num_classes, include_top=True):
    if include_top and (not _is_int(num_classes) or num_classes <= 0):
        raise ValueError(f"num_classes must be a positive int when include_top=True; got {num_classes!r}.")
    return num_classes


def check_class_names(class_names, num_classes):
    """None, or a list of `num_classes` distinct strings."""
    if class_names is None:
        return None
    names = list(class_names) if isinstance(class_names, (list, tuple)) else None
    if names is None or not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        raise ValueError(f"class_names must be a list of distinct strings; got {class_names!r}.")
    if num_classes is not None and len(names) != num_classes:
        raise ValueError(f"class_names has {len(names)} names but the model has {num_classes} classes: {names}.")
    return names


def _numbers(value):
    values = (value,) if _is_number(value) else value
    if not isinstance(values, (tuple, list)) or not values or not all(map(_is_number, values)):
        return None
    return tuple(float(v) for v in values)


def check_normalization(input_normalization, channels=None):
    """`(mean, std)` as a pair of tuples of floats, on the [0, 1] pixel scale; else a `ValueError`.

    `mean` and `std` are each a number or a non-empty sequence of numbers (one per channel, or one
    for all channels); every std must be > 0. With `channels`, each must have 1 or `channels` values.
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
    for name, values in (("mean", mean), ("std", std)):
        if channels is not None and len(values) not in (1, channels):
            raise ValueError(
                f"input_normalization's {name} has {len(values)} values {values}, but the images have "
                f"{channels} channel(s); give 1 or {channels}."
            )
    return mean, std
