"""`AugmentConfig`: every augmentation and label-regularization switch of the training data, off by default."""

import dataclasses

from keras_vit.layers.validation import check_positive_int

PRESETS = ("none", "flip", "light", "deit")


def _check_range(value, name, low, high, *, low_open=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (low < value if low_open else low <= value) or value > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"AugmentConfig.{name} must be a number in {bracket}{low}, {high}]; got {value!r}.")


def _check_interval(value, name, low, high):
    if not (isinstance(value, (tuple, list)) and len(value) == 2 and low < value[0] <= value[1] <= high):
        raise ValueError(f"AugmentConfig.{name} must be a pair (min, max) with {low} < min <= max <= {high}; got {value!r}.")


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """What `get_datasets` does to training images and labels (test data is never augmented).

    Per image, in this order:
        pad_crop: pixels of zero padding on each side before a random crop back to the image size
            (0: off). A random crop to the image's own size alone would do nothing; padding first makes
            it a random shift of up to `pad_crop` pixels.
        random_resized_crop: crop a random area in `crop_scale` (fraction of the image) with aspect
            ratio (w/h) in `crop_ratio`, resized back to the image size (Inception / DeiT crop).
        horizontal_flip: mirror left-right with probability 1/2 (leave off for digits and text).
        rand_augment: Keras `RandAugment` with `rand_augment_ops` operations per image and strength
            `rand_augment_magnitude` (Keras' `factor`, which scales every operation at once: 0.5
            allows rotations up to half a turn, so the default here is milder).
    Per batch, in this order:
        random_erasing: probability that an image gets a random rectangle of noise (0: off).
        label_smoothing: soft targets `(1 - s) * one_hot + s / num_classes` (0: off).
        mixup_alpha: MixUp with mixing weights from Beta(alpha, alpha) (0: off).
        cutmix_alpha: CutMix with patch area from Beta(alpha, alpha) (0: off; Keras' CutMix allows at most 1).
        mix_switch_prob: with both MixUp and CutMix on, the probability that a batch gets CutMix
            instead of MixUp (as in DeiT).

    With label smoothing, MixUp or CutMix on (`soft_labels`), labels are float one-hot vectors
    `(B, num_classes)` for training and test alike; otherwise int labels `(B,)`.
    """

    pad_crop: int = 0
    random_resized_crop: bool = False
    crop_scale: tuple = (0.08, 1.0)
    crop_ratio: tuple = (3 / 4, 4 / 3)
    horizontal_flip: bool = False
    rand_augment: bool = False
    rand_augment_ops: int = 2
    rand_augment_magnitude: float = 0.3
    random_erasing: float = 0.0
    label_smoothing: float = 0.0
    mixup_alpha: float = 0.0
    cutmix_alpha: float = 0.0
    mix_switch_prob: float = 0.5

    def __post_init__(self):
        if not isinstance(self.pad_crop, int) or isinstance(self.pad_crop, bool) or self.pad_crop < 0:
            raise ValueError(f"AugmentConfig.pad_crop must be an int >= 0 (pixels); got {self.pad_crop!r}.")
        for name in ("random_resized_crop", "horizontal_flip", "rand_augment"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"AugmentConfig.{name} must be True or False; got {getattr(self, name)!r}.")
        if self.pad_crop and self.random_resized_crop:
            raise ValueError("AugmentConfig: choose pad_crop or random_resized_crop, not both.")
        _check_interval(self.crop_scale, "crop_scale", 0.0, 1.0)
        _check_interval(self.crop_ratio, "crop_ratio", 0.0, float("inf"))
        check_positive_int(self.rand_augment_ops, "AugmentConfig.rand_augment_ops")
        _check_range(self.rand_augment_magnitude, "rand_augment_magnitude", 0.0, 1.0, low_open=True)
        _check_range(self.random_erasing, "random_erasing", 0.0, 1.0)
        _check_range(self.label_smoothing, "label_smoothing", 0.0, 0.5)
        _check_range(self.mixup_alpha, "mixup_alpha", 0.0, 10.0)
        _check_range(self.cutmix_alpha, "cutmix_alpha", 0.0, 1.0)
        _check_range(self.mix_switch_prob, "mix_switch_prob", 0.0, 1.0)

    @property
    def soft_labels(self):
        """Whether labels are float one-hot vectors rather than ints."""
        return bool(self.label_smoothing or self.mixup_alpha or self.cutmix_alpha)

    @classmethod
    def none(cls):
        """No augmentation at all."""
        return cls()

    @classmethod
    def flip(cls):
        """Flip left-right only: what the Fashion-MNIST recipe and comparison use (shifts slow a ViT's learning there)."""
        return cls(horizontal_flip=True)

    @classmethod
    def light(cls, **overrides):
        """Shift by up to 4 pixels (pad 4, random crop), flip left-right; `light(horizontal_flip=False)` for digits."""
        return dataclasses.replace(cls(pad_crop=4, horizontal_flip=True), **overrides)

    @classmethod
    def deit(cls, **overrides):
        """The DeiT recipe: random resized crop, flip, RandAugment, random erasing 0.25, label smoothing 0.1,
        MixUp 0.8 / CutMix 1.0 (switched per batch with probability 0.5)."""
        deit = cls(
            random_resized_crop=True, horizontal_flip=True, rand_augment=True, random_erasing=0.25,
            label_smoothing=0.1, mixup_alpha=0.8, cutmix_alpha=1.0,
        )  # fmt: skip
        return dataclasses.replace(deit, **overrides)

    @classmethod
    def from_value(cls, value):
        """An `AugmentConfig` from itself, None (no augmentation) or a preset name ("none", "flip", "light", "deit")."""
        if value is None:
            return cls.none()
        if isinstance(value, cls):
            return value
        if isinstance(value, str) and value in PRESETS:
            return getattr(cls, value)()
        raise ValueError(f"augment must be an AugmentConfig, None or one of {', '.join(map(repr, PRESETS))}; got {value!r}.")
