import keras
import numpy as np
import pytest
from keras import ops

import keras_vit
from keras_vit.training import DistillationModel, distillation_loss

TIMM_PARAMS = {
    "deit_tiny_distilled_patch16_224": 5_910_800,
    "deit_small_distilled_patch16_224": 22_436_432,
    "deit_base_distilled_patch16_224": 87_338_192,
}


@pytest.fixture
def student(tiny):
    return keras_vit.build_deit(num_classes=5, distillation_token=True, **tiny)


@pytest.fixture
def teacher():
    return keras_vit.build_resnet(num_classes=5, image_size=16, widths=(4, 8), blocks_per_stage=1)


@pytest.fixture
def batch():
    rng = np.random.default_rng(3)
    return rng.uniform(0, 255, size=(16, 16, 16, 3)).astype("float32"), rng.integers(0, 5, 16)


@pytest.mark.parametrize("name", sorted(TIMM_PARAMS))
def test_parameter_counts_match_timm(name):
    assert keras_vit.build_deit(name, num_classes=1000).count_params() == TIMM_PARAMS[name]


def test_small_image_distilled_configs_exist():
    for name in ("deit_tiny_distilled_patch4_32", "deit_tiny_distilled_patch4_28", "deit_nano_distilled_patch4_28"):
        config = keras_vit.get_config(name)
        assert config.distillation_token
        assert config.dim == keras_vit.get_config(name.replace("deit_", "vit_").replace("_distilled", "")).dim


def test_undistilled_deit_is_a_vit():
    model = keras_vit.build_deit("deit_tiny_patch16_224", num_classes=1000)
    assert model.count_params() == 5_717_416


def test_dist_token_init_std_reaches_the_token_and_travels_in_the_keras_file(tiny, tmp_path):
    model = keras_vit.build_deit(num_classes=5, distillation_token=True, dist_token_init_std=1e-6, **tiny)
    assert np.abs(ops.convert_to_numpy(model.patch_encoder.dist_token)).max() <= 2e-6
    model.save(tmp_path / "deit.keras")
    assert keras_vit.load_model(tmp_path / "deit.keras").config.dist_token_init_std == 1e-6
    with pytest.raises(ValueError, match="dist_token_init_std=1e-06 initializes the distillation token, but"):
        keras_vit.build_vit(num_classes=5, dist_token_init_std=1e-6, **tiny)


def test_inference_output_is_the_mean_of_the_two_heads(student, batch):
    images = batch[0]
    cls_logits, dist_logits = [ops.convert_to_numpy(t) for t in student.head_outputs(images)]
    assert np.abs(cls_logits - dist_logits).max() > 1e-3
    np.testing.assert_allclose(ops.convert_to_numpy(student(images)), (cls_logits + dist_logits) / 2, atol=1e-6)


def numpy_log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_hard_distillation_loss_against_numpy():
    rng = np.random.default_rng(0)
    student_logits, teacher_logits = rng.normal(size=(2, 8, 5)).astype("float32")
    expected = -numpy_log_softmax(student_logits)[np.arange(8), teacher_logits.argmax(-1)].mean()
    value = ops.convert_to_numpy(distillation_loss(student_logits, teacher_logits, "hard"))
    np.testing.assert_allclose(value, expected, rtol=1e-5)


@pytest.mark.parametrize("tau", [1.0, 3.0])
def test_soft_distillation_loss_against_numpy(tau):
    rng = np.random.default_rng(1)
    student_logits, teacher_logits = rng.normal(size=(2, 8, 5)).astype("float32")
    log_p_teacher = numpy_log_softmax(teacher_logits / tau)
    log_p_student = numpy_log_softmax(student_logits / tau)
    expected = (np.exp(log_p_teacher) * (log_p_teacher - log_p_student)).sum(-1).mean() * tau**2
    value = ops.convert_to_numpy(distillation_loss(student_logits, teacher_logits, "soft", tau))
    np.testing.assert_allclose(value, expected, rtol=1e-4)


def test_total_loss_mixes_the_heads_with_alpha(student, teacher, batch):
    images, labels = batch
    model = DistillationModel(student, teacher, alpha=0.3, distillation="soft", temperature=2.0)
    cls_logits, dist_logits = model(images, training=True)
    teacher_logits = ops.convert_to_numpy(teacher(images, training=False))
    cls_logits, dist_logits = ops.convert_to_numpy(cls_logits), ops.convert_to_numpy(dist_logits)
    ce = -numpy_log_softmax(cls_logits)[np.arange(16), labels].mean()
    log_pt, log_ps = numpy_log_softmax(teacher_logits / 2), numpy_log_softmax(dist_logits / 2)
    kl = (np.exp(log_pt) * (log_pt - log_ps)).sum(-1).mean() * 4
    loss = model.compute_loss(images, labels, (cls_logits, dist_logits))
    np.testing.assert_allclose(ops.convert_to_numpy(loss), 0.7 * ce + 0.3 * kl, rtol=1e-4)


def test_alpha_zero_equals_plain_training_of_the_cls_head(tiny, teacher, batch):
    images, labels = batch
    keras.utils.set_random_seed(1)
    student = keras_vit.build_deit(num_classes=5, distillation_token=True, **tiny)
    initial = student.get_weights()
    cls_only = keras.Model(student.inputs, student.head.output)
    trainer = DistillationModel(student, teacher, alpha=0.0)
    trainer.compile(optimizer=keras.optimizers.SGD(0.1))
    trainer.fit(images, labels, batch_size=16, epochs=2, shuffle=False, verbose=0)
    distilled = student.get_weights()

    student.set_weights(initial)
    cls_only.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    cls_only.fit(images, labels, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert any(np.abs(a - b).max() > 1e-4 for a, b in zip(initial, distilled))
    for a, b in zip(distilled, student.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_fit_trains_the_student_and_never_the_teacher(student, teacher, batch, tmp_path):
    images, labels = batch
    teacher_before = [w.copy() for w in teacher.get_weights()]
    student_before = [w.copy() for w in student.get_weights()]
    trainer = DistillationModel(student, teacher)
    trainer.compile(optimizer=keras.optimizers.AdamW(1e-3), metrics=["accuracy"])
    history = trainer.fit(images, labels, batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"])) and "accuracy" in history.history
    for before, after in zip(teacher_before, teacher.get_weights()):
        np.testing.assert_array_equal(before, after)  # BatchNorm statistics included
    assert any(np.abs(a - b).max() > 0 for a, b in zip(student_before, student.get_weights()))
    # Only the student is saved; it reloads with the same (averaged) output.
    student.save(tmp_path / "student.keras")
    loaded = keras.saving.load_model(tmp_path / "student.keras", compile=False)
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(images)), ops.convert_to_numpy(student(images)), atol=1e-5)
    assert trainer.evaluate(images, labels, verbose=0)[0] > 0


def test_teacher_and_student_must_agree(student, tiny):
    other_classes = keras_vit.build_resnet(num_classes=7, image_size=16, widths=(4,), blocks_per_stage=1)
    with pytest.raises(ValueError, match="same number of classes: teacher 7, student 5"):
        DistillationModel(student, other_classes)
    other_size = keras_vit.build_resnet(num_classes=5, image_size=32, widths=(4,), blocks_per_stage=1)
    with pytest.raises(ValueError, match=r"same images: teacher input \(32, 32, 3\), student input \(16, 16, 3\)"):
        DistillationModel(student, other_size)


def test_bad_distillation_arguments(student, teacher, tiny):
    with pytest.raises(ValueError, match="distillation must be one of 'hard', 'soft'; got 'kl'"):
        DistillationModel(student, teacher, distillation="kl")
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\]; got 1.5"):
        DistillationModel(student, teacher, alpha=1.5)
    with pytest.raises(ValueError, match="not a distilled DeiT.*build it with keras_vit.build_deit"):
        DistillationModel(keras_vit.build_vit(num_classes=5, **tiny), teacher)
    with pytest.raises(ValueError, match="distillation_token=True needs pooling='token' and class_token=True"):
        keras_vit.build_deit(num_classes=5, distillation_token=True, pooling="gap", **tiny)


def test_resnet_teacher_shapes_and_errors():
    model = keras_vit.build_resnet(num_classes=10, image_size=28, channels=1)
    assert model(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 10)
    with pytest.raises(ValueError, match="widths must be"):
        keras_vit.build_resnet(num_classes=10, widths=())


def test_strided_shortcut_subsamples_then_projects_and_trains_as_a_strided_1x1_convolution():
    """No strided 1x1 convolution (oneDNN's CPU backward for it hangs on few channels, see
    `residual_block`); the subsample + projection must still compute one, forward and backward."""
    model = keras_vit.build_resnet(num_classes=5, image_size=16, widths=(4, 8), blocks_per_stage=1)
    strided_1x1 = [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D) and layer.kernel_size == (1, 1) and layer.strides != (1, 1)
    ]
    assert strided_1x1 == []
    named = {layer.name: layer for layer in model.layers}
    subsample, proj = named["stage1_block0_subsample"], named["stage1_block0_proj"]
    inputs = keras.Input((15, 15, 4))
    branch = keras.Model(inputs, proj(subsample(inputs)))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 15, 15, 4)).astype("float32")
    target = rng.normal(size=(8, 8, 8, 8)).astype("float32")
    kernel = ops.convert_to_numpy(proj.kernel)[0, 0]
    y = x[:, ::2, ::2] @ kernel
    np.testing.assert_allclose(ops.convert_to_numpy(branch(x)), y, atol=1e-5)
    # One SGD step of rate 1 on the mean squared error moves the kernel by its gradient.
    branch.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    branch.train_on_batch(x, target)
    gradient = np.einsum("bhwc,bhwk->ck", x[:, ::2, ::2], 2 * (y - target) / y.size)
    np.testing.assert_allclose(ops.convert_to_numpy(proj.kernel)[0, 0], kernel - gradient, atol=1e-5)
