"""Argument checks shared by the layers: each error names the bad value and what is valid."""


def to_pair(value, name):
    """`value` as a `(height, width)` pair of positive ints; an int means a square."""
    pair = (value, value) if isinstance(value, int) else tuple(value) if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of positive ints (h, w); got {value!r}.")
    return pair


def check_positive_int(value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return value


def check_entry_width(value, name):
    """The width of a conv stem's entry convolution: an int >= 0 (0: none)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be an int >= 0 (0: none); got {value!r}.")
    return value


def check_stem_entry_width(value, patch_embedding):
    """`stem_entry_width`: an entry width (`check_entry_width`), non-zero only with a conv stem."""
    check_entry_width(value, "stem_entry_width")
    if value and patch_embedding != "conv_stem":
        raise ValueError(
            f"stem_entry_width={value} adds a convolution to the conv stem, but patch_embedding is "
            f"{patch_embedding!r}; set patch_embedding='conv_stem' or stem_entry_width=0."
        )
    return value


def check_rate(value, name):
    if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1); got {value!r}.")
    return float(value)


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")
    return value


def check_divisible(image_size, patch_size):
    """Raise unless an `(h, w)` image splits into whole `(ph, pw)` patches."""
    if image_size[0] % patch_size[0] or image_size[1] % patch_size[1]:
        raise ValueError(
            f"Image size {image_size[0]}x{image_size[1]} is not divisible by patch size "
            f"{patch_size[0]}x{patch_size[1]}."
        )
