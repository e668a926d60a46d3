import keras
import numpy as np
import pytest

from keras_vit.training import build_optimizer
from keras_vit.training.train import build_model, check_config, compile_model
from tiny_training import DATA_INFO, TEST_JIT, tiny_config


def jax_on_cpu():
    import jax

    return jax.default_backend() == "cpu"


@pytest.mark.parametrize("precision, compute_dtype", [("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")])
def test_mixed_precision_trains_with_float32_weights_and_logits(precision, compute_dtype, tmp_path):
    config = tiny_config(None, tmp_path, precision=precision)
    if precision == "mixed_float16" and keras.backend.backend() == "jax" and jax_on_cpu():
        with pytest.raises(ValueError, match="mixed_float16' does not run on JAX's CPU backend"):
            check_config(config)
        return
    check_config(config)
    model = build_model(config, DATA_INFO)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    assert model.blocks[0].compute_dtype == compute_dtype
    assert all(v.dtype == "float32" for v in model.weights)
    assert model.head.compute_dtype == "float32"
    optimizer = build_optimizer(1e-3, total_steps=4, warmup_steps=1, no_weight_decay=model.no_weight_decay())
    compile_model(model, optimizer, soft_labels=False, jit_compile=TEST_JIT)
    if precision == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    images = np.random.default_rng(0).uniform(0, 255, (8, 28, 28, 1)).astype("float32")
    labels = np.arange(8) % 10
    losses = [float(model.train_on_batch(images, labels)[0]) for _ in range(3)]
    assert np.all(np.isfinite(losses))
    assert keras.ops.convert_to_numpy(model(images)).dtype == np.float32
