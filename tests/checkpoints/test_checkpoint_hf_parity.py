"""Logits of Hugging Face transformers' PyTorch ViT / DeiT-with-teacher equal keras_vit's after loading."""

import keras
import numpy as np
import torch
import transformers

import keras_vit

HF_TINY = dict(image_size=16, patch_size=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
               intermediate_size=64, num_labels=5, hidden_act="gelu")


def _save_perturbed(hf_model, folder):
    """Every parameter moved off its init (zero biases, unit LayerNorm scales), then saved with save_pretrained."""
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in hf_model.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    assert all(bool((parameter != 0).all()) for parameter in hf_model.parameters())
    hf_model.eval().save_pretrained(folder)
    return hf_model


def _hf_logits(hf_model, images):
    with torch.no_grad():
        return hf_model(pixel_values=torch.from_numpy(images.transpose(0, 3, 1, 2))).logits.numpy()


def test_vit_logits_match_transformers(tmp_path, images, logits):
    hf_model = _save_perturbed(transformers.ViTForImageClassification(transformers.ViTConfig(**HF_TINY)), tmp_path)

    # No preprocessor_config.json: the inputs' normalization is told; (0, 1) is [0, 1] pixels, as HF takes them here.
    model = keras_vit.load_checkpoint(tmp_path, input_normalization=(0, 1))

    assert model.input_normalization is None
    assert model.blocks[0].layer_norm_epsilon == 1e-12  # HF's, read from config.json
    np.testing.assert_allclose(logits(model, images), _hf_logits(hf_model, images), atol=1e-4)


def test_a_checkpoint_that_declares_its_normalization_predicts_from_raw_pixels(tmp_path, pixels):
    """transformers' image processor (`preprocessor_config.json`) says how the weights' inputs were
    normalized; the loaded model applies it to raw pixels itself."""
    hf_model = _save_perturbed(transformers.ViTForImageClassification(transformers.ViTConfig(**HF_TINY)), tmp_path)
    processor = transformers.ViTImageProcessor(image_mean=[0.5, 0.4, 0.3], image_std=[0.2, 0.25, 0.3])
    processor.save_pretrained(tmp_path)

    model = keras_vit.load_checkpoint(tmp_path)

    assert model.input_normalization == ((0.5, 0.4, 0.3), (0.2, 0.25, 0.3))
    normalized = ((pixels / 255.0 - [0.5, 0.4, 0.3]) / [0.2, 0.25, 0.3]).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(pixels)), _hf_logits(hf_model, normalized), atol=1e-4
    )
    # Saved in keras_vit's timm layout, the normalization travels in the file's metadata.
    path = keras_vit.save_checkpoint(model, tmp_path / "vit.safetensors")
    assert keras_vit.load_checkpoint(path).input_normalization == model.input_normalization


def distilled_vit(num_classes=5, epsilon=1e-12):
    """A tiny distilled DeiT: CLS and distillation tokens, two heads, logits averaged."""
    return keras_vit.build_deit(
        num_classes=num_classes, image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64,
        distillation_token=True, layer_norm_epsilon=epsilon,
    )  # fmt: skip


def test_deit_with_teacher_logits_match_transformers(tmp_path, images, logits):
    config = transformers.DeiTConfig(**HF_TINY)
    hf_model = _save_perturbed(transformers.DeiTForImageClassificationWithTeacher(config), tmp_path)
    model = distilled_vit()

    keras_vit.load_weights(model, tmp_path)

    np.testing.assert_allclose(logits(model, images), _hf_logits(hf_model, images), atol=1e-4)
    # load_checkpoint builds the distilled model from the folder alone.
    loaded = keras_vit.load_checkpoint(tmp_path, input_normalization=(0, 1))
    assert loaded.head_dist is not None and loaded.config.distillation_token
    np.testing.assert_allclose(logits(loaded, images), _hf_logits(hf_model, images), atol=1e-4)


def test_deit_round_trips_through_timm_layout(tmp_path, perturb, assert_same_weights):
    from safetensors.numpy import load_file

    model = perturb(distilled_vit(epsilon=1e-6))
    path = keras_vit.save_checkpoint(model, tmp_path / "deit.safetensors")
    tensors = load_file(path)
    assert tensors["dist_token"].shape == (1, 1, 32) and tensors["pos_embed"].shape == (1, 2 + 16, 32)
    assert tensors["head_dist.weight"].shape == (5, 32)

    restored = keras_vit.load_weights(distilled_vit(epsilon=1e-6), path)

    assert_same_weights(model, restored)
