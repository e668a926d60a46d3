"""`AugmentConfig`: every augmentation and label-regularization switch of the training data, off by default."""

import dataclasses

from keras_vit.checks import check_bool, check_interval, check_non_negative_int, check_number_in, check_positive_int

PRESETS = ("none", "flip", "light", "deit")


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
    Per batch, in this order (after label smoothing, which is `get_datasets`' `label_smoothing`):
        random_erasing: probability that an image gets a random rectangle of noise (0: off).
        mixup_alpha: MixUp with mixing weights from Beta(alpha, alpha) (0: off).
        cutmix_alpha: CutMix with patch area from Beta(alpha, alpha) (0: off; Keras' CutMix allows at most 1).
        mix_switch_prob: with both MixUp and CutMix on, the probability that a batch gets CutMix
            instead of MixUp (as in DeiT).

    With MixUp or CutMix on (`mixes_labels`), or label smoothing, labels are float one-hot vectors
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
    mixup_alpha: float = 0.0
    cutmix_alpha: float = 0.0
    mix_switch_prob: float = 0.5

    def __post_init__(self):
        check_non_negative_int(self.pad_crop, "AugmentConfig.pad_crop", zero_means="off")
        for name in ("random_resized_crop", "horizontal_flip", "rand_augment"):
            check_bool(getattr(self, name), f"AugmentConfig.{name}")
        if self.pad_crop and self.random_resized_crop:
            raise ValueError("AugmentConfig: choose pad_crop or random_resized_crop, not both.")
        check_interval(self.crop_scale, "AugmentConfig.crop_scale", 0.0, 1.0)
        check_interval(self.crop_ratio, "AugmentConfig.crop_ratio", 0.0, float("inf"))
        check_positive_int(self.rand_augment_ops, "AugmentConfig.rand_augment_ops")
        check_number_in(self.rand_augment_magnitude, "AugmentConfig.rand_augment_magnitude", 0.0, 1.0, low_open=True)
        check_number_in(self.random_erasing, "AugmentConfig.random_erasing", 0.0, 1.0)
        check_number_in(self.mixup_alpha, "AugmentConfig.mixup_alpha", 0.0, 10.0)
        check_number_in(self.cutmix_alpha, "AugmentConfig.cutmix_alpha", 0.0, 1.0)
        check_number_in(self.mix_switch_prob, "AugmentConfig.mix_switch_prob", 0.0, 1.0)

    @property
    def mixes_labels(self):
        """Whether MixUp or CutMix mixes labels (which then must be float one-hot vectors)."""
        return bool(self.mixup_alpha or self.cutmix_alpha)

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
        """The DeiT recipe's augmentation: random resized crop, flip, RandAugment, random erasing 0.25,
        MixUp 0.8 / CutMix 1.0 (switched per batch with probability 0.5); its label smoothing 0.1 is
        `TrainConfig.label_smoothing`'s default."""
        deit = cls(
            random_resized_crop=True, horizontal_flip=True, rand_augment=True, random_erasing=0.25,
            mixup_alpha=0.8, cutmix_alpha=1.0,
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
