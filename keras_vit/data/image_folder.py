"""An image-folder source, `root/<class>/*.jpg|jpeg|png|bmp`, read with tf.data (TF-only by nature).

`keras.utils.image_dataset_from_directory` is not used because it cannot give what we promise: it
resizes every image to 256x256 unless told otherwise (so mixed sizes pass silently) and a corrupt file
fails mid-training with a decoder message that does not name the file. Here every image is decoded once
up front (in parallel, in tf.data), so those are errors that name the files before any training starts.
"""

import dataclasses
import pathlib

import tensorflow as tf

from keras_vit.checks import check_choice, to_pair

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def resize_uint8(image, size):
    """uint8 image `(H, W, C)` -> uint8 `(h, w, C)` for `size` `(h, w)`, bilinear with antialiasing."""
    image = tf.image.resize(image, size, antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)


def _class_folders(root, class_names):
    found = sorted(path.name for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))
    if not found:
        raise ValueError(f"{root} has no class folders; expected {root}/<class>/*.jpg|png, one folder per class.")
    if len(found) == 1:
        raise ValueError(f"{root} has a single class folder ({found[0]!r}); a classifier needs at least two classes.")
    if class_names is not None and found != list(class_names):
        raise ValueError(f"{root} has class folders {found}; expected the same classes as training: {list(class_names)}.")
    return found


def _image_files(folder):
    files = sorted(str(path) for path in folder.iterdir() if path.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise ValueError(f"Class folder {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)}).")
    return files


def _decode(path, channels):
    return tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)


def _decode_error(path, channels):
    try:
        _decode(path, channels)
    except tf.errors.OpError as error:
        return error.message.strip().splitlines()[0]
    return "unknown error"


def _decoded_shapes(files, channels):
    """`{file: (h, w, c)}` by decoding every file; raise naming the files that cannot be read or decoded."""
    probe = tf.data.Dataset.from_tensor_slices(files).map(
        lambda path: (path, tf.shape(_decode(path, channels))), num_parallel_calls=tf.data.AUTOTUNE
    )
    shapes = {path.decode(): tuple(int(d) for d in shape) for path, shape in probe.ignore_errors().as_numpy_iterator()}
    bad = [path for path in files if path not in shapes]
    if bad:
        listed = "; ".join(f"{path} ({_decode_error(path, channels)})" for path in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(f"Cannot read or decode {len(bad)} image file(s): {listed}{more}. Fix or remove them.")
    return shapes


def _single(values, what, hint):
    """The one value all files share; else an error listing each value with a count and an example file."""
    groups = {}
    for path, value in values.items():
        groups.setdefault(value, []).append(path)
    if len(groups) > 1:
        listed = ", ".join(f"{value} ({len(paths)} files, e.g. {paths[0]})" for value, paths in groups.items())
        raise ValueError(f"Images have mixed {what}: {listed}. {hint}")
    return next(iter(groups))


@dataclasses.dataclass
class ImageFolder:
    """What `scan_image_folder` found: every image file with its label, and the shape they load at."""

    files: list
    labels: list
    class_names: list
    image_shape: tuple  # (H, W, C) every image loads at
    resize: bool  # whether images are resized to image_shape[:2] (else all files have that size)

    def dataset(self, indices=None):
        """Unbatched `tf.data.Dataset` of `(uint8 image (H, W, C), int64 label)` of the files at `indices`
        (None: all), in file order."""
        indices = range(len(self.files)) if indices is None else indices
        files, labels = [self.files[i] for i in indices], [self.labels[i] for i in indices]
        height, width, depth = self.image_shape

        def load(path, label):
            image = _decode(path, depth)
            if self.resize:
                image = resize_uint8(image, (height, width))
            image.set_shape(self.image_shape)
            return image, label

        dataset = tf.data.Dataset.from_tensor_slices((files, tf.constant(labels, tf.int64, shape=(len(labels),))))
        return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)


def scan_image_folder(root, image_size=None, *, channels=None, class_names=None):
    """The images in `root/<class>/`, each decoded once to check it (see `load_image_folder`), as an
    `ImageFolder`; no image is kept in memory."""
    root = pathlib.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Image folder not found: {root}")
    if channels is not None:
        check_choice(channels, "channels", (1, 3))
    size = None if image_size is None else to_pair(image_size, "image_size")
    class_names = _class_folders(root, class_names)
    files, labels = [], []
    for label, name in enumerate(class_names):
        found = _image_files(root / name)
        files += found
        labels += [label] * len(found)
    shapes = _decoded_shapes(files, channels or 0)
    depth = channels or _single({p: s[2] for p, s in shapes.items()}, "channel counts", "Pass channels=1 or 3.")
    height, width = size or _single({p: s[:2] for p, s in shapes.items()}, "sizes (h, w)", "Pass image_size.")
    return ImageFolder(files, labels, class_names, (height, width, depth), resize=size is not None)


def load_image_folder(root, image_size=None, *, channels=None, class_names=None):
    """Images in `root/<class>/` -> `(dataset, info)`.

    Args:
        root: a folder with one sub-folder of images per class (sorted names give labels 0, 1, ...).
        image_size: int or `(h, w)` to resize every image to (bilinear, antialiased); None keeps the
            files' size, which must then be the same for all.
        channels: 1 (grayscale) or 3 (RGB) to convert every image to; None keeps the files' channels,
            which must then be the same for all.
        class_names: the classes the folders must be (e.g. a test folder must match training's).

    Returns:
        dataset: unbatched `tf.data.Dataset` of `(uint8 image (H, W, C), int64 label)` in file order.
        info: dict with `class_names`, `num_classes`, `image_shape` `(H, W, C)`, `num_examples`.
    """
    folder = scan_image_folder(root, image_size, channels=channels, class_names=class_names)
    info = dict(
        class_names=folder.class_names, num_classes=len(folder.class_names), image_shape=folder.image_shape,
        num_examples=len(folder.files),
    )  # fmt: skip
    return folder.dataset(), info
