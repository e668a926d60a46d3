import keras
import numpy as np
import pytest

from keras_vit import build_deit, build_vit
from keras_vit.inspect import position_embedding_similarity


@pytest.mark.parametrize("position_embedding", ["learned", "sincos2d"])
def test_similarity_grid(tiny, position_embedding):
    tiny.update(image_size=(16, 12))  # a 4x3 patch grid
    model = build_deit(num_classes=5, position_embedding=position_embedding, distillation_token=True, **tiny)
    similarity = position_embedding_similarity(model)
    assert similarity.shape == (4, 3, 4, 3)
    flat = similarity.reshape(12, 12)
    np.testing.assert_allclose(np.diag(flat), 1.0, atol=1e-6)
    np.testing.assert_allclose(flat, flat.T, atol=1e-6)
    table = keras.ops.convert_to_numpy(model.patch_encoder.position_embeddings)[0]
    patches = table[2:] if position_embedding == "learned" else table  # learned tables hold CLS + dist first
    a, b = patches[1], patches[7]  # patch (0, 1) and patch (2, 1)
    assert similarity[0, 1, 2, 1] == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), abs=1e-5)


def test_no_position_embeddings_is_an_error(tiny):
    model = build_vit(num_classes=5, position_embedding="none", **tiny)
    with pytest.raises(ValueError, match="position_embedding='none'"):
        position_embedding_similarity(model)
