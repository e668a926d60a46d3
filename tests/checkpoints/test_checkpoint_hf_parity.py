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

    model = keras_vit.load_checkpoint(tmp_path)

    assert model.get_layer("block_0").layer_norm_epsilon == 1e-12  # HF's, read from config.json
    np.testing.assert_allclose(logits(model, images), _hf_logits(hf_model, images), atol=1e-4)


class _Token(keras.layers.Layer):
    """Token `index` of a sequence: `(B, N, dim)` -> `(B, dim)`."""

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def call(self, x):
        return keras.ops.take(x, self.index, axis=1)


def distilled_vit(num_classes=5, epsilon=1e-12):
    """A DeiT assembled from keras_vit layers: CLS and distillation tokens, two heads, logits averaged."""
    images = keras.Input((16, 16, 3), name="images")
    x = keras_vit.PatchEncoder(32, 4, distillation_token=True, name="patch_encoder")(images)
    for index in range(2):
        x = keras_vit.TransformerBlock(4, 64, layer_norm_epsilon=epsilon, name=f"block_{index}")(x)
    x = keras.layers.LayerNormalization(epsilon=epsilon, name="norm")(x)
    head = keras.layers.Dense(num_classes, name="head")(_Token(0)(x))
    head_dist = keras.layers.Dense(num_classes, name="head_dist")(_Token(1)(x))
    return keras.Model(images, keras.layers.Average()([head, head_dist]), name="deit")


def test_deit_with_teacher_logits_match_transformers(tmp_path, images, logits):
    config = transformers.DeiTConfig(**HF_TINY)
    hf_model = _save_perturbed(transformers.DeiTForImageClassificationWithTeacher(config), tmp_path)
    model = distilled_vit()

    keras_vit.load_weights(model, tmp_path)

    np.testing.assert_allclose(logits(model, images), _hf_logits(hf_model, images), atol=1e-4)


def test_deit_round_trips_through_timm_layout(tmp_path, perturb, assert_same_weights):
    from safetensors.numpy import load_file

    model = perturb(distilled_vit(epsilon=1e-6))
    path = keras_vit.save_checkpoint(model, tmp_path / "deit.safetensors")
    tensors = load_file(path)
    assert tensors["dist_token"].shape == (1, 1, 32) and tensors["pos_embed"].shape == (1, 2 + 16, 32)
    assert tensors["head_dist.weight"].shape == (5, 32)

    restored = keras_vit.load_weights(distilled_vit(epsilon=1e-6), path)

    assert_same_weights(model, restored)
