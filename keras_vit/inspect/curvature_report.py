"""The Hessian and loss-landscape analyses of one or more models on the same data, as figures and numbers."""

import pathlib

import numpy as np

from keras_vit.checks import check_positive_int
from keras_vit.files import write_json
from keras_vit.inspect.curvature import batch_spectrum, hutchinson, lanczos_density
from keras_vit.inspect.hessian import HessianOperator
from keras_vit.inspect.landscape import landscape_of
from keras_vit.inspect.objective import Objective
from keras_vit.inspect.report import json_ready


def curvature_analysis(model, images, labels, *, hessian=True, landscape=True, batch_size=32, top_k=5,
                       trace_samples=20, density_steps=64, density_vectors=1, landscape_directions=1,
                       landscape_steps=21, landscape_distance=1.0, seed=0):  # fmt: skip
    """Every curvature figure of `model` on `(images, labels)`, as a dict of numbers and arrays.

    Always: `num_weights`, `loss`, `accuracy`. With `hessian`: `max_eigenvalues` `(batches, top_k)`, the
    top `top_k` eigenvalues by magnitude of each mini-batch of `batch_size` (Park & Kim's spectrum), and
    `negative_max_eigenvalue_share`, the share of them below 0; `trace` and `trace_error` (Hutchinson
    over all the data, at most `trace_samples` samples); `density` (`hessian_density` over all the data)
    and its `negative_share`. With `landscape`: `landscape`, `loss_landscape(...)` with
    `landscape_directions`, `landscape_steps` and `landscape_distance`. Every product and loss runs over
    all the data in batches of `batch_size`.
    """
    check_positive_int(trace_samples, "trace_samples")
    objective = Objective(model, images, labels, batch_size=batch_size)
    loss, accuracy = objective.loss_and_accuracy(objective.weights)
    result = {"num_weights": objective.size, "loss": loss, "accuracy": accuracy}
    if hessian:
        operator = HessianOperator(objective)  # one operator: JAX and TensorFlow compile its products once
        spectrum = batch_spectrum(operator, top_k, seed=seed)
        trace = hutchinson(operator, max_samples=trace_samples, min_samples=min(10, trace_samples), seed=seed)
        density = lanczos_density(operator, density_steps, density_vectors, seed=seed)
        result.update(
            max_eigenvalues=spectrum,
            negative_max_eigenvalue_share=float(np.mean(spectrum < 0)),
            trace=trace["trace"],
            trace_error=trace["error"],
            density=density,
            negative_share=density["negative_share"],
        )
    if landscape:
        result["landscape"] = landscape_of(objective, landscape_directions, landscape_distance, landscape_steps, seed)
    return result


def write_curvature_report(models, images, labels, out_dir, *, hessian=True, landscape=True, **options):
    """Run `curvature_analysis` on every model of `models` (a dict: name -> model, all taking `images`)
    and write into `out_dir`: `hessian.png` (max-eigenvalue spectra and densities side by side),
    `landscape.png`, `curvature.npz` (every array, keyed `name/figure`) and `curvature.json` (the
    figures, arrays included). `options` go to `curvature_analysis`. Returns the paths written."""
    try:  # matplotlib only when figures are drawn
        from keras_vit.inspect import plots
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            f"Inspect plots need matplotlib ({error}): pip install 'keras_vit[inspect]'."
        ) from error

    if not models or not (hessian or landscape):
        raise ValueError("Nothing to analyse: give at least one model and hessian=True or landscape=True.")
    analyses = {name: curvature_analysis(model, images, labels, hessian=hessian, landscape=landscape, **options)
                for name, model in models.items()}  # fmt: skip
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    if hessian:
        paths.append(plots.plot_hessian(analyses, out_dir / "hessian.png"))
    if landscape:
        paths.append(plots.plot_landscape({name: a["landscape"] for name, a in analyses.items()},
                                          out_dir / "landscape.png"))  # fmt: skip
    arrays = {}
    for name, analysis in analyses.items():
        for key, value in _flat(analysis):
            # The directions are left out: as many numbers as weights, and re-drawn from the seed.
            if isinstance(value, np.ndarray) and key != "landscape/directions":
                arrays[f"{name}/{key}"] = value
    np.savez(out_dir / "curvature.npz", **arrays)
    summary = {name: {key: json_ready(value) for key, value in _flat(analysis) if key != "landscape/directions"}
               for name, analysis in analyses.items()}  # fmt: skip
    write_json(out_dir / "curvature.json", {"num_images": len(images), "models": summary})
    return paths + [out_dir / "curvature.npz", out_dir / "curvature.json"]


def _flat(analysis):
    """`(key, value)` pairs of an analysis, nested dicts flattened to `outer/inner` keys."""
    for key, value in analysis.items():
        if isinstance(value, dict):
            yield from ((f"{key}/{inner}", item) for inner, item in value.items())
        else:
            yield key, value
