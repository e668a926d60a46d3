"""Hessian-vector products, eigenvalues, trace and density against the explicit Hessian of a small MLP."""

import keras
import numpy as np
import pytest
from hessian_reference import data, flat_weights, hessian, loss_and_gradient, mlp

import keras_vit
from keras_vit.inspect import (
    hessian_density,
    hessian_eigenvalues,
    hessian_max_eigenvalue_spectrum,
    hessian_trace,
)
from keras_vit.inspect.curvature import hessian_operator


@pytest.fixture
def problem():
    """The MLP, its data, and the explicit Hessian of its mean loss (float64 numpy)."""
    model = mlp()
    images, labels = data()
    return model, images, labels, hessian(flat_weights(model), images, labels)


def relative_error(got, expected):
    return np.linalg.norm(got - expected) / np.linalg.norm(expected)


@pytest.mark.parametrize("batch_size", [None, 5])
def test_hessian_vector_products_equal_the_explicit_hessian_times_the_vector(problem, batch_size):
    model, images, labels, explicit = problem
    operator = hessian_operator(model, images, labels, batch_size=batch_size)
    assert operator.size == 280 and len(operator.batches) == (1 if batch_size is None else 4)
    rng = np.random.default_rng(0)
    for vector in rng.standard_normal((3, 280)):
        assert relative_error(operator.matvec(vector), explicit @ vector) < 1e-4
    _, gradient = loss_and_gradient(flat_weights(model), images, labels)
    assert relative_error(operator.gradient(), gradient) < 1e-5
    # The model's own variables are never written (stateless calls).
    np.testing.assert_array_equal(flat_weights(model), flat_weights(mlp()))


def test_float64_products_on_tensorflow_and_a_clear_error_elsewhere(problem):
    model, images, labels, explicit = problem
    if keras.backend.backend() != "tensorflow":
        backend = keras.backend.backend()
        with pytest.raises(ValueError, match=f"dtype='float64' needs the tensorflow backend: on {backend}"):
            hessian_operator(model, images, labels, dtype="float64")
        return
    operator = hessian_operator(model, images, labels, dtype="float64")
    vector = np.random.default_rng(0).standard_normal(280)
    assert relative_error(operator.matvec(vector), explicit @ vector) < 1e-8
    assert operator.objective.model is not model  # a float64 copy; the model stays float32
    assert all(variable.dtype == "float32" for variable in model.variables)


def test_top_eigenvalues_and_eigenvectors_equal_those_of_the_explicit_hessian(problem):
    model, images, labels, explicit = problem
    exact_values, exact_vectors = np.linalg.eigh(explicit)
    values, vectors = hessian_eigenvalues(model, images, labels, top_k=3, return_eigenvectors=True)
    scale = np.abs(exact_values).max()
    np.testing.assert_allclose(values, exact_values[::-1][:3], atol=1e-4 * scale)
    assert vectors.shape == (3, 280)
    overlaps = np.abs(vectors @ exact_vectors[:, ::-1][:, :3])
    np.testing.assert_allclose(np.diag(overlaps), 1.0, atol=1e-3)
    np.testing.assert_allclose(hessian_eigenvalues(model, images, labels, batch_size=4), values[:1], rtol=1e-4)
    # This loss is non-convex: among the largest in magnitude is a negative eigenvalue.
    by_magnitude = exact_values[np.argsort(np.abs(exact_values))[::-1][:3]]
    assert by_magnitude.min() < 0
    np.testing.assert_allclose(hessian_eigenvalues(model, images, labels, top_k=3, which="magnitude"), by_magnitude,
                               atol=1e-4 * scale)  # fmt: skip


def test_the_max_eigenvalue_spectrum_holds_the_top_eigenvalues_of_each_batch(problem):
    model, images, labels, _ = problem
    spectrum = hessian_max_eigenvalue_spectrum(model, images, labels, batch_size=6, top_k=2)
    assert spectrum.shape == (3, 2)  # batches of 6, 6 and 4
    for row, start in zip(spectrum, range(0, 16, 6)):
        batch = slice(start, start + 6)
        exact = np.linalg.eigvalsh(hessian(flat_weights(model), images[batch], labels[batch]))
        np.testing.assert_allclose(row, exact[np.argsort(np.abs(exact))[::-1][:2]], rtol=1e-3)


def test_the_trace_estimate_is_within_its_stated_error(problem):
    model, images, labels, explicit = problem
    estimate = hessian_trace(model, images, labels, max_samples=60, min_samples=60)
    assert len(estimate["samples"]) == 60
    assert abs(estimate["trace"] - np.trace(explicit)) <= 3 * estimate["error"]
    # The stated error is honest: Rademacher samples have variance 2 * sum of the off-diagonal squares.
    off_diagonal = explicit - np.diag(np.diag(explicit))
    expected_error = np.sqrt(2 * np.sum(off_diagonal**2) / 60)
    assert 0.6 < estimate["error"] / expected_error < 1.6
    stopped = hessian_trace(model, images, labels, rtol=0.5, min_samples=5)  # stops once the error is small enough
    assert 5 <= len(stopped["samples"]) < 100 and stopped["error"] <= 0.5 * abs(stopped["trace"])


def test_the_density_integrates_to_one_and_describes_the_spectrum(problem):
    model, images, labels, explicit = problem
    exact = np.linalg.eigvalsh(explicit)
    density = hessian_density(model, images, labels, steps=280, vectors=3)
    assert np.trapezoid(density["density"], density["grid"]) == pytest.approx(1.0, abs=1e-3)
    assert np.all(density["density"] >= 0)
    np.testing.assert_allclose(density["weights"].sum(axis=1), 1.0, rtol=1e-6)
    # Ritz values lie inside the spectrum; the extreme ones converge to its ends.
    assert exact[0] - 1e-4 <= density["nodes"].min() and density["nodes"].max() <= exact[-1] + 1e-4
    assert density["nodes"].max() == pytest.approx(exact[-1], rel=1e-4)
    # With as many steps as weights the quadrature is exact for each start vector; the share varies with them.
    assert density["negative_share"] == pytest.approx(np.mean(exact < -1e-3 * np.abs(exact).max()), abs=0.06)
    assert density["trace"] == pytest.approx(np.trace(explicit), abs=0.5 * np.abs(exact).sum() / 4)
    short = hessian_density(model, images, labels, steps=20, points=500)
    assert short["nodes"].shape == (1, 20) and short["grid"].shape == (500,)
    assert np.trapezoid(short["density"], short["grid"]) == pytest.approx(1.0, abs=1e-3)


def test_a_keras_vit_model_on_raw_pixels(pixels):
    model = keras_vit.build_resnet(num_classes=5, image_size=16, widths=(4, 8), blocks_per_stage=1)
    labels = np.array([0, 3, 4])
    statistics = [keras.ops.convert_to_numpy(variable) for variable in model.non_trainable_variables]
    values, vectors = hessian_eigenvalues(model, pixels, labels, top_k=1, return_eigenvectors=True, tol=1e-4)
    operator = hessian_operator(model, pixels, labels)
    product = operator.matvec(vectors[0])
    assert relative_error(product, values[0] * vectors[0]) < 1e-2  # an eigenpair of the same Hessian
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((2, operator.size))
    assert u @ operator.matvec(v) == pytest.approx(v @ operator.matvec(u), rel=1e-4)  # symmetric
    # The products read BatchNorm's moving statistics and never update them.
    for before, variable in zip(statistics, model.non_trainable_variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), before)


def test_the_compiled_loss_is_the_one_differentiated(problem):
    model, images, labels, _ = problem
    model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2))
    one_hot = np.eye(4)[labels]
    operator = hessian_operator(model, images, one_hot)
    smoothed = one_hot * 0.8 + 0.05
    plain = hessian_operator(mlp(), images, smoothed)  # cross-entropy against the smoothed targets
    vector = np.random.default_rng(0).standard_normal(280)
    assert relative_error(operator.matvec(vector), plain.matvec(vector)) < 1e-5


def test_bad_arguments_are_named(problem):
    model, images, labels, _ = problem
    with pytest.raises(ValueError, match=r"Labels \[7\] are out of range for a model with 4 classes \(valid: 0 .. 3\)"):
        hessian_eigenvalues(model, images, np.full(16, 7))
    with pytest.raises(ValueError, match="Got 15 labels for 16 images"):
        hessian_trace(model, images, labels[:15])
    with pytest.raises(ValueError, match=r"Labels must be class indices \(B,\) as ints or one-hot rows \(B, 4\)"):
        hessian_density(model, images, np.ones((16, 3)))
    with pytest.raises(ValueError, match="top_k must be below the number of trainable weights"):
        hessian_eigenvalues(model, images, labels, top_k=280)
    with pytest.raises(ValueError, match="dtype must be one of 'float32', 'float64'; got 'float16'"):
        hessian_eigenvalues(model, images, labels, dtype="float16")
    with pytest.raises(ValueError, match=r"images must be images shaped \(N, 3, 3, 2\); got \(16, 3, 3, 1\) \(model 'mlp' takes"):
        hessian_eigenvalues(model, images[..., :1], labels)
    with pytest.raises(ValueError, match="batch_size must be a positive int; got 0"):
        hessian_max_eigenvalue_spectrum(model, images, labels, batch_size=0)


def test_a_mixed_precision_model_is_analysed_in_float32(tiny, pixels):
    tiny["depth"] = 1
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = keras_vit.build_vit(num_classes=5, **tiny)
    finally:
        keras.config.set_dtype_policy(previous)
    plain = keras_vit.build_vit(num_classes=5, **tiny)
    plain.set_weights(mixed.get_weights())
    labels = np.array([0, 1, 2])
    analysed, reference = hessian_operator(mixed, pixels, labels), hessian_operator(plain, pixels, labels)
    assert reference.objective.model is plain  # already float32 throughout: used as it is
    assert analysed.objective.model is not mixed and mixed.compute_dtype == "bfloat16"  # a float32 copy
    vector = np.random.default_rng(0).standard_normal(reference.size)
    assert relative_error(analysed.matvec(vector), reference.matvec(vector)) < 1e-6


def test_eigenvalues_that_do_not_converge_raise_a_clear_error(problem, monkeypatch):
    from keras_vit.inspect import curvature

    model, images, labels, _ = problem
    monkeypatch.setattr(curvature, "MAX_RESTARTS", 1)
    with pytest.raises(RuntimeError, match=r"The top 3 Hessian eigenvalues did not converge to tol=1e-12 .*raise tol"):
        hessian_eigenvalues(model, images, labels, top_k=3, tol=1e-12)
