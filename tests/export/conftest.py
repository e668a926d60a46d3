"""A tiny ViT trained briefly on real Fashion-MNIST, and its exports, shared by the export tests.

Quantized exports are judged on top-1 agreement, which means little for an untrained model
whose logits are nearly tied; 150 steps give real margins.
"""

import keras
import numpy as np
import pytest

import keras_vit
from keras_vit.data import FASHION_MNIST_CLASSES, fashion_mnist_split
from keras_vit.export.api import SUFFIXES

TINY_FASHION = dict(image_size=28, patch_size=7, dim=32, depth=2, num_heads=4, mlp_dim=64, channels=1)
TRAIN_STEPS = 150
BATCH_SIZE = 64


@pytest.fixture(scope="session")
def fashion(data_dir):
    """Real images as raw pixels: `train` for fitting, `calibration` for int8, `check` for parity (disjoint)."""
    x_train, y_train = fashion_mnist_split(data_dir / "fashion-mnist", "train", limit=TRAIN_STEPS * BATCH_SIZE)
    x_test, _ = fashion_mnist_split(data_dir / "fashion-mnist", "test", limit=400)
    return dict(train=(x_train, y_train), calibration=x_test[:200], check=x_test[200:])


@pytest.fixture(scope="session")
def trained_model(fashion):
    keras.utils.set_random_seed(0)
    model = keras_vit.build_vit(
        num_classes=10, class_names=list(FASHION_MNIST_CLASSES), input_normalization=(0.3, 0.35), **TINY_FASHION
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(2e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(*fashion["train"], batch_size=BATCH_SIZE, epochs=1, verbose=0)
    return model


@pytest.fixture
def deit_model():
    """A distilled DeiT: class and distillation tokens, two heads (`head`, `head_dist`), one averaged output."""
    return keras_vit.build_deit(num_classes=10, distillation_token=True, **TINY_FASHION)


@pytest.fixture(scope="session")
def min_top1_agreement():
    """Top-1 agreement floors per quantization for the briefly trained model. Full int8 costs
    4-10% on it, depending on the backend's initialization (benchmarks/README.md measures each
    format on a better-trained model)."""
    return {"float16": 0.99, "dynamic": 0.97, "int8": 0.8}


@pytest.fixture(scope="session")
def exported(trained_model, fashion, min_top1_agreement, tmp_path_factory):
    """`exported(format, quantize)`: the `ExportReport` of the trained model, written once per session."""
    directory = tmp_path_factory.mktemp("exports")
    reports = {}

    def get(format, quantize=None):
        if (format, quantize) not in reports:
            reports[format, quantize] = keras_vit.export(
                trained_model,
                directory / f"model_{format}_{quantize or 'fp32'}{SUFFIXES.get(format, '')}",
                format=format,
                quantize=quantize,
                representative_data=fashion["calibration"],
                verify_data=fashion["check"],
                min_top1_agreement=min_top1_agreement.get(quantize, 0.99),
            )
        return reports[format, quantize]

    return get


@pytest.fixture(scope="session")
def confident_images(trained_model, fashion):
    """The 7 check images on which the trained model's top-1 logit leads the runner-up the most:
    quantized exports must agree with Keras on these without luck."""
    logits = keras.ops.convert_to_numpy(trained_model.predict(fashion["check"], verbose=0))
    top2 = np.sort(logits, axis=-1)[:, -2:]
    return fashion["check"][np.argsort(top2[:, 0] - top2[:, 1])[:7]]
