"""The families' new parts (attention pool, register tokens without positions, pre-norm, quick-GELU) export to
TFLite with the Keras model's outputs."""

import pytest

import keras_vit

TINY_FASHION = dict(image_size=28, patch_size=7, dim=32, depth=2, num_heads=4, mlp_dim=64, channels=1)

FAMILIES = {
    "siglip": dict(class_token=False, pooling="map", activation="gelu_tanh"),
    "dinov2_registers_clip": dict(reg_tokens=2, no_embed_class=True, init_values=0.1, norm_pre=True,
                                  activation="quick_gelu"),
}  # fmt: skip


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_exports_to_tflite_with_fp32_parity(family, fashion, tmp_path):
    model = keras_vit.build_vit(num_classes=10, **TINY_FASHION, **FAMILIES[family])
    report = keras_vit.export(model, tmp_path / f"{family}.tflite", format="tflite", verify_data=fashion["check"])
    assert report.verified and report.max_abs_diff <= 1e-4
