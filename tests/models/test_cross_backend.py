"""A `.keras` file saved under this backend loads under the other two with equal outputs."""

import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np

import keras_vit
REPO = pathlib.Path(__file__).resolve().parents[2]

LOAD_AND_COMPARE = textwrap.dedent(
    """
    import sys
    import keras, numpy as np
    import keras_vit  # registers the layers
    worst = 0.0
    for stem in sys.argv[1:]:
        # compile=False: a JAX-saved model would otherwise turn on torch.compile under torch.
        model = keras.saving.load_model(stem + ".keras", compile=False)
        data = np.load(stem + ".npz")
        assert type(model).__name__ == str(data["kind"]), type(model)
        assert model.class_names == [str(name) for name in data["class_names"]], model.class_names
        assert model.input_normalization == ((0.5,), (0.25,)), model.input_normalization
        assert len(model.blocks) == int(data["blocks"])
        assert getattr(model.config, "patch_embedding", "") == str(data["patch_embedding"])
        out = keras.ops.convert_to_numpy(model(data["pixels"]))
        worst = max(worst, float(np.abs(out - data["logits"]).max()))
    print(f"{keras.backend.backend()}: max abs diff {worst:.2e}")
    sys.exit(0 if worst <= 1e-5 else 1)
    """
)

VARIANTS = {
    "plain": {},
    "linear_sincos": {"patch_embedding": "linear", "position_embedding": "sincos2d", "pooling": "gap"},
    "qknorm_layerscale": {"qk_norm": True, "init_values": 0.1},
    "conv_stem": {"patch_embedding": "conv_stem"},
    "deit": {"distillation_token": True},
    "dinov2_registers": {"reg_tokens": 2, "no_embed_class": True, "init_values": 0.1},
    "clip": {"norm_pre": True, "layer_norm_epsilon": 1e-5, "activation": "quick_gelu"},
    "siglip": {"class_token": False, "pooling": "map", "activation": "gelu_tanh"},
    "avg_fc_norm": {"pooling": "gap", "fc_norm": True},
    "hybrid": {"patch_embedding": "resnetv2", "backbone_layers": (1,), "backbone_width": 32, "patch_size": 1},
    "swin": {},
}
SWIN = dict(image_size=16, patch_size=2, embed_dim=16, depths=(2, 2), num_heads=(2, 4), window_size=4)


def test_saved_models_load_under_the_other_backends_with_config_class_names_and_preprocessing(tmp_path, tiny, pixels):
    stems = []
    class_names = ["a", "b", "c", "d", "e"]
    for name, variant in VARIANTS.items():
        common = dict(num_classes=5, class_names=class_names, input_normalization=(0.5, 0.25))
        model = keras_vit.build_swin(**common, **SWIN) if name == "swin" else keras_vit.build_vit(**common, **{**tiny, **variant})
        stem = str(tmp_path / name)
        model.save(stem + ".keras")
        np.savez(
            stem + ".npz", pixels=pixels, logits=keras.ops.convert_to_numpy(model(pixels)), class_names=class_names,
            patch_embedding=getattr(model.config, "patch_embedding", ""), kind=type(model).__name__,
            blocks=len(model.blocks),
        )  # fmt: skip
        stems.append(stem)

    for backend in sorted({"tensorflow", "jax", "torch"} - {keras.backend.backend()}):
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO)}
        result = subprocess.run(
            [sys.executable, "-c", LOAD_AND_COMPARE, *stems], env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"loading under {backend} failed:\n{result.stdout}\n{result.stderr[-3000:]}"
