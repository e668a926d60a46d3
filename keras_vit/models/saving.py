"""`load_model`: a keras_vit model from a `.keras` file, files of keras_vit 0.1 included."""

import keras

from keras_vit.files import check_keras_file
from keras_vit.models.classifier import ImageClassifier
from keras_vit.models.resnet import from_legacy_resnet
from keras_vit.models.vit import from_legacy_model


def load_model(path, *, compile=False, input_normalization=None):
    """The model saved at `path` (a `.keras` file).

    A missing, empty, truncated or damaged file, or one that is no `.keras` archive, is an error naming
    `path`, raised before Keras reads it (Keras says "File not found" for all of them).

    keras_vit's models (`VisionTransformer`, `ResNet`) take raw pixels in [0, 255]. Those saved by
    keras_vit 0.1 took images scaled to [0, 1] (normalized by the data pipeline when trained with
    `input_normalization`, which the file does not record: pass the same value here); they come back
    upgraded to the class of today, giving on raw pixels what the old model gave on preprocessed ones.
    Any other Keras model is returned as Keras loads it. `compile=True` restores the optimizer of a
    current file.
    """
    model = keras.saving.load_model(check_keras_file(path), compile=compile)
    if isinstance(model, ImageClassifier):
        return model
    upgraded = from_legacy_model(model, input_normalization) or from_legacy_resnet(model, input_normalization)
    return model if upgraded is None else upgraded
