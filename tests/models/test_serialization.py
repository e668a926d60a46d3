import keras
import numpy as np

import keras_vit


def test_keras_file_round_trip_in_this_backend(tmp_path, tiny, images):
    model = keras_vit.build_vit(num_classes=4, drop_path_rate=0.1, init_values=1e-3, **tiny)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(images)), keras.ops.convert_to_numpy(model(images)), atol=1e-6
    )
    assert loaded.blocks[1].get_config() == model.blocks[1].get_config()
