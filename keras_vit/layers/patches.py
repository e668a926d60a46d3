import keras
from einops import rearrange

from keras_vit.checks import check_channels_last, check_divisible, to_pair


@keras.saving.register_keras_serializable(package="keras_vit")
class Patches(keras.layers.Layer):
    """Cuts images into non-overlapping patches and flattens each one.

    `(B, H, W, C)` -> `(B, (H/ph)*(W/pw), ph*pw*C)`, patches in row-major order,
    each flattened as `(ph, pw, C)`. Images that look channels-first `(B, C, H, W)` are an error
    saying so (`keras_vit.checks.looks_channels_first`).

    Args:
        patch_size: int, or `(ph, pw)` for rectangular patches.
    """

    def __init__(self, patch_size, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = to_pair(patch_size, "patch_size")

    def build(self, input_shape):
        check_channels_last(input_shape, f"Patches {self.name!r}")
        if input_shape[1] is not None and input_shape[2] is not None:
            check_divisible(input_shape[1:3], self.patch_size)

    def call(self, images):
        # A Python check of the static shape: free at run time, and it also covers calls after the first.
        check_channels_last(images.shape, f"Patches {self.name!r}")
        ph, pw = self.patch_size
        return rearrange(images, "b (h ph) (w pw) c -> b (h w) (ph pw c)", ph=ph, pw=pw)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        ph, pw = self.patch_size
        num_patches = None if height is None or width is None else (height // ph) * (width // pw)
        return (batch, num_patches, ph * pw * channels)

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size}
