"""The `AugmentConfig` as tf.data map functions (TF-only by nature), built from Keras' preprocessing layers.

Keras' layers run inside tf.data under any backend. Two steps are written here because Keras lacks
them or does them per batch: the random resized crop (Keras 3 has no such layer) and the per-image
pad-and-crop (`RandomCrop` draws one offset per batch, so it runs before batching, on each image).
`RandAugment` also runs per image: on a batch it applies the same operations to every image.

Randomness is seeded: each layer gets its own seed derived from `seed`, and the maps run in order
(no parallel calls), so the same seed gives the same augmented stream; each epoch differs because the
layers' seed generators advance.
"""

import keras
import tensorflow as tf

# Offsets that give every random step its own seed, derived from the one `seed`.
_PAD_CROP, _RESIZED_CROP, _FLIP, _RAND_AUGMENT, _ERASING, _MIXUP, _CUTMIX, _SWITCH = range(1, 9)
FULL_IMAGE_BOX = [[[0.0, 0.0, 1.0, 1.0]]]
# Images are raw pixel values throughout (the models take them so; see keras_vit.models.classifier).
PIXEL_RANGE = (0.0, 255.0)


def random_resized_crop(image, generator, size, scale, ratio):
    """Crop a random box of area fraction in `scale` and aspect ratio (w/h) in `ratio`, resized to `size`.

    `image` `(H, W, C)` float; `generator` a `tf.random.Generator`. After 10 failed draws the whole image is used.
    """
    begin, crop_size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), bounding_boxes=tf.constant(FULL_IMAGE_BOX), seed=generator.make_seeds(1)[:, 0],
        min_object_covered=0.0, aspect_ratio_range=ratio, area_range=scale, max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )  # fmt: skip
    crop = tf.image.resize(tf.slice(image, begin, crop_size), size)
    return tf.ensure_shape(crop, (*size, image.shape[-1]))


class _Equalization(keras.layers.Equalization):
    """Keras' `Equalization` with its TensorFlow histogram always.

    Keras picks the histogram code by the global backend, so under JAX it unrolls a 256-step loop even
    inside tf.data, where ops are TensorFlow's: RandAugment then takes half a minute to trace and runs
    several times slower. Inside tf.data `self.backend` is TensorFlow, whose `bincount` is fine.
    """

    def _custom_histogram_fixed_width(self, values, value_range, nbins):
        low, high = (self.backend.cast(v, "float32") for v in value_range)
        scaled = (self.backend.cast(values, "float32") - low) * (nbins - 1) / (high - low)
        indices = self.backend.numpy.clip(self.backend.cast(scaled, "int32"), 0, nbins - 1)
        return self.backend.numpy.bincount(self.backend.numpy.reshape(indices, [-1]), minlength=nbins)


def rand_augment(num_ops, magnitude, seed):
    """Keras `RandAugment` for float images in [0, 255], with the `_Equalization` fix."""
    layer = keras.layers.RandAugment(value_range=PIXEL_RANGE, num_ops=num_ops, factor=magnitude, seed=seed, dtype="float32")
    layer.equalization = _Equalization(value_range=PIXEL_RANGE, dtype="float32")
    return layer


def image_augmenter(config, image_shape, seed):
    """Per-image map function `(image (H, W, C) float in [0, 255], label) -> same`; None when nothing is on."""
    height, width, _ = image_shape
    steps = []
    if config.pad_crop:
        pad = config.pad_crop
        crop = keras.layers.RandomCrop(height, width, seed=seed + _PAD_CROP, dtype="float32")
        steps.append(lambda image: crop(tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])))
    if config.random_resized_crop:
        generator = tf.random.Generator.from_seed(seed + _RESIZED_CROP)
        steps.append(
            lambda image: random_resized_crop(image, generator, (height, width), config.crop_scale, config.crop_ratio)
        )
    if config.horizontal_flip:
        steps.append(keras.layers.RandomFlip("horizontal", seed=seed + _FLIP, dtype="float32"))
    if config.rand_augment:
        steps.append(rand_augment(config.rand_augment_ops, config.rand_augment_magnitude, seed + _RAND_AUGMENT))
    if not steps:
        return None

    def augment(image, label):
        for step in steps:
            image = step(image)
        return image, label

    return augment


def one_hot(labels, num_classes, smoothing=0.0):
    """int labels `(B,)` -> float32 `(B, num_classes)`, each row `(1 - smoothing) * one_hot + smoothing / num_classes`."""
    return tf.one_hot(labels, num_classes) * (1.0 - smoothing) + smoothing / num_classes


def _mixer(config, seed):
    """`(images, soft labels) -> (images, soft labels)` with MixUp and/or CutMix, or None."""
    layers = []
    if config.mixup_alpha:
        layers.append(keras.layers.MixUp(alpha=config.mixup_alpha, seed=seed + _MIXUP, dtype="float32"))
    if config.cutmix_alpha:
        # CutMix's `factor` is the range alpha is drawn from; (a, a) fixes alpha = a.
        alpha = (config.cutmix_alpha, config.cutmix_alpha)
        layers.append(keras.layers.CutMix(factor=alpha, seed=seed + _CUTMIX, dtype="float32"))
    if not layers:
        return None

    def mix(layer, images, labels):
        out = layer({"images": images, "labels": labels})
        return out["images"], out["labels"]

    if len(layers) == 1:
        return lambda images, labels: mix(layers[0], images, labels)
    mixup, cutmix = layers
    switch = tf.random.Generator.from_seed(seed + _SWITCH)
    return lambda images, labels: tf.cond(
        switch.uniform(()) < config.mix_switch_prob,
        lambda: mix(cutmix, images, labels),
        lambda: mix(mixup, images, labels),
    )


def batch_augmenter(config, num_classes, seed, label_smoothing=0.0):
    """Per-batch map function `(images (B, H, W, C), int labels (B,)) -> (images, labels)`; None when nothing is on.

    Labels come out float one-hot `(B, num_classes)`, smoothed by `label_smoothing`, when it or
    `config.mixes_labels` is on, else unchanged.
    """
    erasing = None
    if config.random_erasing:
        probability = (config.random_erasing, config.random_erasing)  # a range; (p, p) fixes it to p
        erasing = keras.layers.RandomErasing(
            factor=probability, value_range=PIXEL_RANGE, seed=seed + _ERASING, dtype="float32"
        )
    mix = _mixer(config, seed)
    soft_labels = bool(label_smoothing) or config.mixes_labels
    if erasing is None and not soft_labels:
        return None

    def augment(images, labels):
        if erasing is not None:
            # Keras fills erased boxes with scaled normal noise; clip to keep images in [0, 255].
            images = tf.clip_by_value(erasing(images), *PIXEL_RANGE)
        if soft_labels:
            labels = one_hot(labels, num_classes, label_smoothing)
        if mix is not None:
            images, labels = mix(images, labels)
        return images, labels

    return augment
