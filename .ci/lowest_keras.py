"""The package with the lowest Keras pyproject.toml allows: build, train a step, save and reload a DeiT.

    python .ci/lowest_keras.py            # run by .ci/run with that Keras first on PYTHONPATH, per backend
"""

import os
import tempfile

import keras
import numpy as np

import keras_vit

model = keras_vit.build_deit(
    num_classes=3, image_size=16, patch_size=4, dim=32, depth=2, num_heads=2, mlp_dim=32, distillation_token=True,
    class_names=["a", "b", "c"], input_normalization=(0.5, 0.5),
)  # fmt: skip
pixels = np.random.default_rng(0).integers(0, 256, (8, 16, 16, 3)).astype("uint8")
model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
losses = model.fit(pixels, np.arange(8) % 3, epochs=2, verbose=0).history["loss"]
path = os.path.join(tempfile.mkdtemp(), "deit.keras")
model.save(path)
reloaded = keras_vit.load_model(path)
difference = float(np.abs(keras.ops.convert_to_numpy(reloaded(pixels)) - keras.ops.convert_to_numpy(model(pixels))).max())
assert reloaded.class_names == ["a", "b", "c"] and difference < 1e-5 and np.all(np.isfinite(losses)), (losses, difference)
print(f"keras {keras.__version__} ({keras.backend.backend()}): trained, saved and reloaded; max difference {difference:.1e}")
