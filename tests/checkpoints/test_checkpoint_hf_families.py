"""transformers' PyTorch DINOv2 (with registers), CLIP and SigLIP image models, saved with save_pretrained beside their
image processor: keras_vit's model of the folder takes raw pixels and gives their features / logits to 1e-4."""

import keras
import numpy as np
import pytest
import torch
import transformers

import keras_vit

SIZES = dict(image_size=16, patch_size=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=4)
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
TEXT = dict(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)


def _save(hf_model, processor, folder):
    """Every parameter moved off its init, then the model and its image processor saved as save_pretrained writes them."""
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in hf_model.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    hf_model.eval().save_pretrained(folder)
    processor.save_pretrained(folder)
    return hf_model


def _torch_pixels(pixels, normalization):
    """What the image processor hands the model: `(x / 255 - mean) / std`, channels first."""
    mean, std = (np.array(values, "float32") for values in normalization)
    return torch.from_numpy(((pixels / 255.0 - mean) / std).astype("float32").transpose(0, 3, 1, 2))


def _dinov2():
    config = transformers.Dinov2Config(**SIZES, mlp_ratio=2, layerscale_value=0.5)
    return transformers.Dinov2Model(config), transformers.BitImageProcessor(image_mean=IMAGENET[0], image_std=IMAGENET[1])


def _dinov2_registers():
    config = transformers.Dinov2WithRegistersConfig(**SIZES, mlp_ratio=2, num_register_tokens=2)
    processor = transformers.BitImageProcessor(image_mean=IMAGENET[0], image_std=IMAGENET[1])
    return transformers.Dinov2WithRegistersModel(config), processor


def _clip_vision(model_class=transformers.CLIPVisionModel, **extra):
    config = transformers.CLIPVisionConfig(**SIZES, intermediate_size=64, **extra)
    return model_class(config), transformers.CLIPImageProcessor(image_mean=CLIP[0], image_std=CLIP[1])


def _clip_whole():
    config = transformers.CLIPConfig(text_config=TEXT, vision_config=dict(**SIZES, intermediate_size=64), projection_dim=8)
    return transformers.CLIPModel(config), transformers.CLIPImageProcessor(image_mean=CLIP[0], image_std=CLIP[1])


def _siglip_vision():
    config = transformers.SiglipVisionConfig(**SIZES, intermediate_size=64)
    return transformers.SiglipVisionModel(config), transformers.SiglipImageProcessor(image_mean=HALF[0], image_std=HALF[1])


def _siglip_whole():
    config = transformers.SiglipConfig(text_config=TEXT, vision_config=dict(**SIZES, intermediate_size=64))
    return transformers.SiglipModel(config), transformers.SiglipImageProcessor(image_mean=HALF[0], image_std=HALF[1])


def _siglip_classifier():
    config = transformers.SiglipConfig(text_config=TEXT, vision_config=dict(**SIZES, intermediate_size=64), num_labels=5)
    model = transformers.SiglipForImageClassification(config)
    return model, transformers.SiglipImageProcessor(image_mean=HALF[0], image_std=HALF[1])


# name: (build, normalization, the reference output of the torch model on its inputs, keras_vit's expected parts)
FAMILIES = {
    "dinov2": (_dinov2, IMAGENET, lambda m, x: m(pixel_values=x).pooler_output,
               dict(init_values=0.5, pooling="token", layer_norm_epsilon=1e-6, num_classes=None)),
    "dinov2_registers": (_dinov2_registers, IMAGENET, lambda m, x: m(pixel_values=x).pooler_output,
                         dict(reg_tokens=2, no_embed_class=True, pooling="token", num_classes=None)),
    "clip_vision": (_clip_vision, CLIP, lambda m, x: m(pixel_values=x).pooler_output,
                    dict(norm_pre=True, activation="quick_gelu", layer_norm_epsilon=1e-5, num_classes=None)),
    "clip_projection": (lambda: _clip_vision(transformers.CLIPVisionModelWithProjection, projection_dim=8), CLIP,
                        lambda m, x: m(pixel_values=x).image_embeds, dict(norm_pre=True, num_classes=8)),
    "clip_gelu": (lambda: _clip_vision(hidden_act="gelu"), CLIP, lambda m, x: m(pixel_values=x).pooler_output,
                  dict(norm_pre=True, activation="gelu", num_classes=None)),
    "clip_whole": (_clip_whole, CLIP, lambda m, x: m.get_image_features(pixel_values=x).pooler_output,
                   dict(norm_pre=True, activation="quick_gelu", num_classes=8)),
    "siglip_vision": (_siglip_vision, HALF, lambda m, x: m(pixel_values=x).pooler_output,
                      dict(class_token=False, pooling="map", activation="gelu_tanh", num_classes=None)),
    "siglip_whole": (_siglip_whole, HALF, lambda m, x: m.get_image_features(pixel_values=x).pooler_output,
                     dict(class_token=False, pooling="map", num_classes=None)),
    "siglip_classifier": (_siglip_classifier, HALF, lambda m, x: m(pixel_values=x).logits,
                          dict(class_token=False, pooling="gap", fc_norm=False, num_classes=5)),
}  # fmt: skip


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_transformers_folder_gives_the_torch_models_outputs_from_raw_pixels(tmp_path, family, pixels):
    build, normalization, reference, expected = FAMILIES[family]
    hf_model = _save(*build(), tmp_path)

    model = keras_vit.load_checkpoint(tmp_path)

    assert model.input_normalization == normalization
    parts = {**vars(model.config), "num_classes": model.num_classes}
    assert {key: parts[key] for key in expected} == expected
    with torch.no_grad():
        want = reference(hf_model, _torch_pixels(pixels, normalization)).numpy()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(pixels)), want, atol=1e-4)


def test_dinov2_classifier_on_cls_and_mean_tokens_is_refused_or_replaced(tmp_path, pixels):
    config = transformers.Dinov2Config(**SIZES, mlp_ratio=2, num_labels=3)
    processor = transformers.BitImageProcessor(image_mean=IMAGENET[0], image_std=IMAGENET[1])
    hf_model = _save(transformers.Dinov2ForImageClassification(config), processor, tmp_path)

    with pytest.raises(ValueError, match=r"its head takes 64 inputs, not the 32 pooled features .*pass num_classes="):
        keras_vit.load_checkpoint(tmp_path)
    model = keras_vit.load_checkpoint(tmp_path, num_classes=3)

    assert not np.any(keras.ops.convert_to_numpy(model.head.kernel))  # a new head; the backbone is DINOv2's
    features = keras.Model(model.input, model.pool.output)
    with torch.no_grad():
        want = hf_model.dinov2(pixel_values=_torch_pixels(pixels, IMAGENET)).pooler_output.numpy()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(features(pixels)), want, atol=1e-4)


def test_transformers_refusals_name_the_unsupported_part(tmp_path):
    config = transformers.Dinov2Config(**SIZES, mlp_ratio=2, use_swiglu_ffn=True)
    processor = transformers.BitImageProcessor(image_mean=IMAGENET[0], image_std=IMAGENET[1])
    _save(transformers.Dinov2Model(config), processor, tmp_path / "swiglu")
    with pytest.raises(ValueError, match=r"use_swiglu_ffn=True \(DINOv2 giant's SwiGLU MLP\) is not supported"):
        keras_vit.load_checkpoint(tmp_path / "swiglu")
    config = transformers.CLIPVisionConfig(**SIZES, intermediate_size=64, hidden_act="relu")
    _save(transformers.CLIPVisionModel(config), processor, tmp_path / "relu")
    with pytest.raises(ValueError, match=r"hidden_act 'relu' is not supported; keras_vit's MLPs use 'gelu', "
                                         r"'gelu_pytorch_tanh', 'quick_gelu'"):
        keras_vit.load_checkpoint(tmp_path / "relu")


def test_an_image_processor_without_normalization_means_pixels_scaled_to_0_1(tmp_path, pixels):
    model, _ = _clip_vision()
    hf_model = _save(model, transformers.CLIPImageProcessor(do_normalize=False), tmp_path)

    loaded = keras_vit.load_checkpoint(tmp_path)

    assert loaded.input_normalization is None
    with torch.no_grad():
        want = hf_model(pixel_values=_torch_pixels(pixels, ((0.0,), (1.0,)))).pooler_output.numpy()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(pixels)), want, atol=1e-4)
