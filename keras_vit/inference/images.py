"""Image files as model inputs: finding them (files, folders, globs) and reading them as raw pixels."""

import glob
import pathlib

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


def find_images(inputs):
    """The image files that `inputs` name, in order: files as given, folders searched recursively (sorted),
    glob patterns expanded (`**` recursive). An input that names nothing is an error naming it."""
    found = []
    for item in [inputs] if isinstance(inputs, (str, pathlib.Path)) else inputs:
        path = pathlib.Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            if not files:
                raise FileNotFoundError(f"Folder {path} holds no images ({', '.join(IMAGE_EXTENSIONS)}).")
        elif path.is_file():
            files = [path]
        else:
            files = sorted(pathlib.Path(p) for p in glob.glob(str(item), recursive=True) if pathlib.Path(p).is_file())
            if not files:
                raise FileNotFoundError(f"No image file, folder or glob match: {item}")
        found += files
    return found


def load_images(paths, image_shape, resize=True):
    """Image files -> raw pixels, uint8 `(N, H, W, C)` for a model taking `image_shape` `(H, W, C)`.

    Each image is converted to the model's channels (C 1: grayscale, 3: RGB, transparency dropped) and,
    with `resize`, resized to `(H, W)` (bilinear); without it a size other than the model's is an error.
    A file that cannot be read as an image is an error naming it.
    """
    from keras_vit.files import load_image

    height, width, channels = image_shape
    if channels not in (1, 3):
        raise ValueError(f"Image files can feed models with 1 or 3 channels; this model takes {channels}.")
    arrays = []
    for path in paths:
        image = load_image(path, color_mode="grayscale" if channels == 1 else "rgb")
        if image.size != (width, height):
            if not resize:
                raise ValueError(f"Image {path} is {image.size[0]}x{image.size[1]} pixels; the model takes "
                                 f"{width}x{height}. Pass --resize to resize it.")
            image = image.resize((width, height), resample=2)  # PIL's bilinear filter
        arrays.append(np.asarray(image, np.uint8).reshape(height, width, channels))
    return np.stack(arrays) if arrays else np.zeros((0, height, width, channels), np.uint8)


def match_channels(images, channels):
    """uint8 images `(N, H, W, c)` as `channels` channels: gray to RGB by repetition, RGB to gray by
    ITU-R 601 luma (what PIL's `convert("L")` computes)."""
    have = images.shape[-1]
    if have == channels:
        return images
    if have == 1 and channels == 3:
        return np.repeat(images, 3, axis=-1)
    if have == 3 and channels == 1:
        luma = images.astype("float32") @ np.array([0.299, 0.587, 0.114], "float32")
        return np.round(luma)[..., None].clip(0, 255).astype(np.uint8)
    raise ValueError(f"Cannot convert {have}-channel images to {channels} channels.")
