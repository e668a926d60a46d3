"""A Swin Transformer and a hybrid ViT export to SavedModel, TFLite and ONNX with their Keras outputs."""

import numpy as np
import pytest

import keras_vit

SUFFIXES = {"tflite": ".tflite", "onnx": ".onnx"}


@pytest.mark.parametrize("format", ["saved_model", "tflite", "onnx"])
@pytest.mark.parametrize("family", ["swin", "hybrid"])
def test_swin_and_hybrid_export_with_parity(tmp_path, family, format):
    if family == "swin":  # 12x12: a padded, shifted 6x6 map, then one 3x3 window
        model = keras_vit.build_swin(num_classes=4, image_size=12, patch_size=2, embed_dim=16, depths=(2, 2),
                                     num_heads=(2, 4), window_size=4)  # fmt: skip
    else:
        model = keras_vit.build_vit(num_classes=4, image_size=32, patch_size=2, dim=32, depth=1, num_heads=2,
                                    mlp_dim=64, patch_embedding="resnetv2", backbone_layers=(1,), backbone_width=32)  # fmt: skip
    images = np.random.default_rng(0).integers(0, 256, (6, *model.image_shape)).astype("uint8")

    report = keras_vit.export(model, tmp_path / f"{family}{SUFFIXES.get(format, '')}", format=format, verify_data=images)

    assert report.verified and report.max_abs_diff <= 1e-4
