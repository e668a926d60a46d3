import dataclasses

import pytest

import keras_vit
from keras_vit.models.configs import ViTConfig

HAND_COUNT_CONFIG = ViTConfig(image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64, channels=3)


def test_flops_match_a_hand_count():
    # 16x16 images, 4x4 patches: N = 16 patches, T = 17 tokens with the CLS token; dim 32, 4 heads of
    # width 8, MLP 64, 2 blocks, 5 classes. One multiply-add = 2 FLOPs.
    patch_embedding = 2 * 16 * (4 * 4 * 3) * 32  # 49,152: each patch (48 values) times a (48, 32) kernel
    qkv = 2 * (2 * 17 * 32 * 96)  # 208,896: 2 blocks of (17, 32) @ (32, 96)
    attention_scores = 2 * (4 * 2 * 17 * 17 * 8)  # 36,992: 2 blocks x 4 heads of (17, 8) @ (8, 17)
    attention_values = 2 * (4 * 2 * 17 * 17 * 8)  # 36,992: 2 blocks x 4 heads of (17, 17) @ (17, 8)
    attention_output = 2 * (2 * 17 * 32 * 32)  # 69,632: 2 blocks of (17, 32) @ (32, 32)
    mlp = 2 * (2 * 17 * 32 * 64 + 2 * 17 * 64 * 32)  # 278,528: 2 blocks of fc1 (32 -> 64) and fc2 (64 -> 32)
    head = 2 * 32 * 5  # 320: the CLS token (32) @ (32, 5)
    assert keras_vit.flop_breakdown(HAND_COUNT_CONFIG, num_classes=5) == dict(
        patch_embedding=patch_embedding,
        qkv=qkv,
        attention_scores=attention_scores,
        attention_values=attention_values,
        attention_output=attention_output,
        mlp=mlp,
        head=head,
    )
    assert keras_vit.flops(HAND_COUNT_CONFIG, num_classes=5) == 680_512
    assert keras_vit.flops(HAND_COUNT_CONFIG, num_classes=5, training=True) == 3 * 680_512


def test_conv_stem_flops_match_a_hand_count():
    # The same config with a conv stem: 16x16x3 -> 8x8x16 -> 4x4x32 (3x3 stride-2 convolutions),
    # then a 1x1 convolution 32 -> 32 per patch. Only the patch embedding changes.
    stem = 2 * (8 * 8 * (9 * 3) * 16) + 2 * (4 * 4 * (9 * 16) * 32) + 2 * 16 * 32 * 32  # 55,296 + 147,456 + 32,768
    config = dataclasses.replace(HAND_COUNT_CONFIG, patch_embedding="conv_stem")
    assert keras_vit.flop_breakdown(config, num_classes=5)["patch_embedding"] == stem == 235_520
    assert keras_vit.flops(config, num_classes=5) == 680_512 - 49_152 + stem


def test_conv_stem_entry_convolution_flops_match_a_hand_count():
    # A stride-1 3x3 convolution 3 -> 8 at 16x16 first; the first stride-2 one then reads 8 channels.
    stem = 2 * (16 * 16 * (9 * 3) * 8) + 2 * (8 * 8 * (9 * 8) * 16) + 2 * (4 * 4 * (9 * 16) * 32) + 2 * 16 * 32 * 32
    config = dataclasses.replace(HAND_COUNT_CONFIG, patch_embedding="conv_stem", stem_entry_width=8)
    assert keras_vit.flop_breakdown(config, num_classes=5)["patch_embedding"] == stem == 438_272


def test_vit_base_matches_the_published_count():
    # DeiT (Touvron et al. 2021), Table 1: ViT-B/16 at 224 px, 17.6 G multiply-adds ("FLOPs" there).
    multiply_adds = keras_vit.flops("vit_base_patch16_224", num_classes=1000) / 2
    assert multiply_adds == pytest.approx(17.6e9, rel=0.005)


@pytest.mark.parametrize(
    "build, overrides",
    [
        (keras_vit.build_vit, {}),
        (keras_vit.build_vit, dict(pooling="gap", class_token=False, patch_embedding="linear", image_size=(16, 24))),
        (keras_vit.build_deit, dict(distillation_token=True)),
        (keras_vit.build_vit, dict(patch_embedding="conv_stem", image_size=(16, 32))),
        (keras_vit.build_vit, dict(patch_embedding="conv_stem", stem_entry_width=8)),
        (keras_vit.build_vit, dict(reg_tokens=4, no_embed_class=True, norm_pre=True)),
        (keras_vit.build_vit, dict(class_token=False, pooling="map")),
    ],
    ids=["vit", "gap_no_cls_rectangular", "distilled_deit", "conv_stem_rectangular", "conv_stem_entry", "registers",
         "attention_pool"],
)
def test_built_model_counts_as_its_config(build, overrides, tiny):
    fields = {**tiny, **overrides}
    model = build(num_classes=7, **fields)
    config = dataclasses.replace(ViTConfig(), **fields)
    assert keras_vit.flops(model) == keras_vit.flops(config, num_classes=7)
    assert keras_vit.flops(model, image_size=32) == keras_vit.flops(config, image_size=32, num_classes=7)


def test_register_tokens_and_the_attention_pool_match_a_hand_count():
    # 2 register tokens: T = 1 + 2 + 16 = 19 tokens through every block.
    registers = keras_vit.flop_breakdown(dataclasses.replace(HAND_COUNT_CONFIG, reg_tokens=2), num_classes=5)
    assert registers["qkv"] == 2 * (2 * 19 * 32 * 96) and registers["attention_scores"] == 2 * (4 * 2 * 19 * 19 * 8)
    assert registers["mlp"] == 2 * (2 * 19 * 32 * 64 + 2 * 19 * 64 * 32) and "attention_pool" not in registers
    # SigLIP's head: no CLS token (T = 16); one query (32) over the 16 patch tokens.
    siglip = dataclasses.replace(HAND_COUNT_CONFIG, class_token=False, pooling="map")
    pool = (
        2 * 32 * 32  # q of the latent token: (1, 32) @ (32, 32)
        + 2 * 16 * 32 * 64  # kv of the patch tokens: (16, 32) @ (32, 64)
        + 2 * (4 * 1 * 16 * 8) * 2  # 4 heads of (1, 8) @ (8, 16), then (1, 16) @ (16, 8)
        + 2 * 32 * 32  # the output projection
        + 2 * (32 * 64 + 64 * 32)  # its MLP
    )  # fmt: skip
    breakdown = keras_vit.flop_breakdown(siglip, num_classes=5)
    assert breakdown["attention_pool"] == pool == 79_872 and breakdown["qkv"] == 2 * (2 * 16 * 32 * 96)


@pytest.mark.parametrize(
    "name, num_classes, giga_multiply_adds",
    [("vit_base_patch16_siglip_224", None, 17.73), ("vit_small_patch14_reg4_dinov2", None, 46.95),
     ("deit3_small_patch16_224", 1000, 4.61), ("vit_base_patch16_clip_224", 1000, 17.58)],
)
def test_family_counts_match_timms_published_figures(name, num_classes, giga_multiply_adds):
    """timm's results/benchmark-infer-*.csv `infer_gmacs` (at each model's default classes; its counter also takes
    a few element-wise operations, about 0.15% here)."""
    assert keras_vit.flops(name, num_classes=num_classes) / 2e9 == pytest.approx(giga_multiply_adds, rel=0.005)


def test_distilled_model_counts_both_heads(tiny):
    model = keras_vit.build_deit(num_classes=7, distillation_token=True, **tiny)
    assert keras_vit.flop_breakdown(model)["head"] == 2 * (2 * tiny["dim"] * 7)


def test_attention_products_grow_with_the_square_of_the_tokens():
    small = keras_vit.flop_breakdown(HAND_COUNT_CONFIG, image_size=16)
    large = keras_vit.flop_breakdown(HAND_COUNT_CONFIG, image_size=32)  # 64 patches, 65 tokens
    assert large["attention_scores"] / small["attention_scores"] == pytest.approx((65 / 17) ** 2)
    assert large["mlp"] / small["mlp"] == pytest.approx(65 / 17)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="got list"):
        keras_vit.flops([1, 2])
    with pytest.raises(ValueError, match="Unknown config name 'vit_huge'"):
        keras_vit.flops("vit_huge")
    with pytest.raises(ValueError, match="not divisible by patch size"):
        keras_vit.flops(HAND_COUNT_CONFIG, image_size=18)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        keras_vit.flops(HAND_COUNT_CONFIG, num_classes=0)
