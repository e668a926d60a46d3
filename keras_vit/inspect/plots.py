"""PNG figures of the analyses, drawn with matplotlib's object API (Agg canvas, no pyplot state)."""

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from keras_vit.files import atomic_path
from keras_vit.inspect.distance import patch_distances

HEAT = "inferno"
DEPTH = colormaps["viridis"]


def _show_image(axis, image):
    image = np.asarray(image, dtype="float64")
    image = (image - image.min()) / max(np.ptp(image), 1e-12)
    if image.shape[-1] == 1:
        axis.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
    else:
        axis.imshow(image)
    axis.set_xticks([])
    axis.set_yticks([])


def _overlay(axis, image, grid_map, vmax=None):
    """The image with `grid_map` `(gh, gw)` stretched over it, bilinearly upsampled; colours from 0 to `vmax`."""
    _show_image(axis, image)
    height, width = image.shape[:2]
    axis.imshow(grid_map, cmap=HEAT, alpha=0.7, extent=(0, width, height, 0), interpolation="bilinear",
                vmin=0, vmax=grid_map.max() if vmax is None else vmax)
    axis.set_xlim(0, width)
    axis.set_ylim(height, 0)


def _save(figure, path):
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=90, bbox_inches="tight")
    return path


def _colour_bar(figure, axes, vmax, label=None):
    mappable = ScalarMappable(Normalize(0, vmax), HEAT)
    bar = figure.colorbar(mappable, ax=axes, shrink=0.8, label=label)
    bar.ax.tick_params(labelsize=7)


def plot_attention_maps(images, maps, path, layer, label, captions=None):
    """Each image (rows, captioned with the model's prediction) with its per-head attention map (columns):
    `maps` `(B, heads, gh, gw)`.

    The heads of one image share a colour scale, shown by the row's colour bar, so a head that looks
    nowhere in particular stays dim.
    """
    num_images, num_heads = maps.shape[:2]
    figure = Figure(figsize=(1.6 * (num_heads + 1) + 0.8, 1.6 * num_images + 0.4), layout="constrained")
    axes = figure.subplots(num_images, num_heads + 1, squeeze=False)
    for row in range(num_images):
        _show_image(axes[row, 0], images[row])
        if captions is not None:
            axes[row, 0].set_title(captions[row], fontsize=8)
        for head in range(num_heads):
            _overlay(axes[row, head + 1], images[row], maps[row, head], vmax=maps[row].max())
            if row == 0:
                axes[row, head + 1].set_title(f"head {head}", fontsize=9)
        _colour_bar(figure, axes[row, :], maps[row].max(), label="weight" if row == 0 else None)
    figure.suptitle(f"Block {layer}: {label} per head")
    return _save(figure, path)


def plot_rollout(images, maps, path, label, captions=None):
    """Images (top row, captioned with the model's prediction) over their attention-rollout maps (bottom row,
    each with its colour bar): `maps` `(B, gh, gw)`."""
    figure = Figure(figsize=(1.9 * len(images), 3.8), layout="constrained")
    axes = figure.subplots(2, len(images), squeeze=False)
    for column, (image, grid_map) in enumerate(zip(images, maps)):
        _show_image(axes[0, column], image)
        if captions is not None:
            axes[0, column].set_title(captions[column], fontsize=8)
        _overlay(axes[1, column], image, grid_map)
        _colour_bar(figure, axes[1, column], grid_map.max())
    figure.suptitle(f"Attention rollout: {label}")
    return _save(figure, path)


def plot_attention_distance(distances, grid_size, patch_size, path):
    """Mean attention distance of every head against depth, heads sorted within each block."""
    num_layers, num_heads = distances.shape
    figure = Figure(figsize=(max(4.5, 0.6 * num_layers + 2.5), 3.6), layout="constrained")
    axis = figure.subplots()
    ranks = np.arange(num_heads)
    for layer in range(num_layers):
        points = axis.scatter(
            np.full(num_heads, layer) + (ranks - (num_heads - 1) / 2) * 0.5 / max(num_heads, 1),
            np.sort(distances[layer]), c=ranks, cmap="viridis", vmin=0, vmax=max(num_heads - 1, 1), s=22,
        )
    uniform = patch_distances(grid_size, patch_size).mean()
    axis.axhline(uniform, color="grey", linestyle="--", linewidth=1, label=f"uniform attention ({uniform:.1f} px)")
    axis.set_xticks(range(num_layers))
    axis.set_xlabel("block")
    axis.set_ylabel("mean attention distance (pixels)")
    axis.set_ylim(0, 1.15 * max(uniform, distances.max()))
    axis.legend(loc="lower right", fontsize=8)
    figure.colorbar(points, ax=axis, label="head, sorted by distance", ticks=ranks)
    return _save(figure, path)


def plot_position_similarity(similarity, path):
    """A grid of small grids: tile `(i, j)` is patch `(i, j)`'s similarity to every patch."""
    rows, cols = similarity.shape[:2]
    figure = Figure(figsize=(0.55 * cols + 1.2, 0.55 * rows + 0.6))
    axes = figure.subplots(rows, cols, squeeze=False, gridspec_kw=dict(wspace=0.06, hspace=0.06))
    for i in range(rows):
        for j in range(cols):
            image = axes[i, j].imshow(similarity[i, j], cmap="viridis", vmin=-1, vmax=1)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
        axes[i, 0].set_ylabel(str(i + 1), rotation=0, labelpad=8, fontsize=8)
    for j in range(cols):
        axes[-1, j].set_xlabel(str(j + 1), fontsize=8)
    figure.supxlabel("input patch column", fontsize=9)
    figure.supylabel("input patch row", fontsize=9)
    figure.colorbar(image, ax=axes, shrink=0.8, label="cosine similarity")
    figure.suptitle("Position embedding similarity")
    return _save(figure, path)


def plot_frequency(analyses, path):
    """Park & Kim's figure for one or more models: `analyses` maps a name to `frequency_analysis(...)`.

    One panel per model with the relative log amplitude from 0 to pi (a curve per probed layer,
    coloured by depth), then the delta log amplitude at high frequency and the feature-map
    variance against normalized depth, every model in the same panels.
    """
    figure = Figure(figsize=(3.6 * (len(analyses) + 2), 3.4), layout="constrained")
    axes = figure.subplots(1, len(analyses) + 2, squeeze=False)[0]
    for axis, (name, analysis) in zip(axes, analyses.items()):
        depth = analysis["depth"]
        for level, frequencies, values in zip(depth, analysis["frequencies"], analysis["relative_log_amplitude"]):
            axis.plot(frequencies / np.pi, values, color=DEPTH(level))
        axis.set_title(name, fontsize=10)
        figure.colorbar(ScalarMappable(Normalize(0, 1), DEPTH), ax=axis, label="normalized depth")
        axis.set_xlim(0, 1)
        axis.set_xlabel("frequency (x pi)")
        axis.set_ylabel("relative log amplitude")
    delta_axis, variance_axis = axes[-2], axes[-1]
    for name, analysis in analyses.items():
        delta_axis.plot(analysis["depth"], analysis["delta_log_amplitude"], marker="o", markersize=3, label=name)
        variance_axis.plot(analysis["depth"], analysis["variance"], marker="o", markersize=3, label=name)
    delta_axis.set_xlabel("normalized depth")
    delta_axis.set_ylabel("delta log amplitude at high freq.")
    variance_axis.set_xlabel("normalized depth")
    variance_axis.set_ylabel("feature map variance")
    variance_axis.set_yscale("log")
    delta_axis.legend(fontsize=8)
    return _save(figure, path)


def _model_colours(names):
    return {name: f"C{index}" for index, name in enumerate(names)}


def plot_hessian(analyses, path):
    """Park & Kim's Hessian figure for one or more models: `analyses` maps a name to a dict with
    `max_eigenvalues` `(batches, k)` (the top eigenvalues of each mini-batch's Hessian) and `density`
    (`hessian_density`'s result). Left: the max-eigenvalue spectra as histograms on shared bins, negative
    eigenvalues left of the dashed line; right: the eigenvalue densities on a log scale."""
    colours = _model_colours(analyses)
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    spectrum_axis, density_axis = figure.subplots(1, 2)
    values = np.concatenate([np.ravel(a["max_eigenvalues"]) for a in analyses.values()])
    bins = np.linspace(min(values.min(), 0.0), values.max(), 40)
    for name, analysis in analyses.items():
        eigenvalues = np.ravel(analysis["max_eigenvalues"])
        negative = np.mean(eigenvalues < 0)
        spectrum_axis.hist(eigenvalues, bins=bins, alpha=0.5, color=colours[name], label=f"{name} ({negative:.0%} < 0)")
        density = analysis["density"]
        density_axis.semilogy(density["grid"], np.maximum(density["density"], 1e-12), color=colours[name], label=name)
    spectrum_axis.axvline(0, color="grey", linestyle="--", linewidth=1)
    spectrum_axis.set_xlabel("top Hessian eigenvalues per mini-batch")
    spectrum_axis.set_ylabel("count")
    spectrum_axis.set_title("Hessian max eigenvalue spectrum", fontsize=10)
    spectrum_axis.legend(fontsize=8)
    density_axis.axvline(0, color="grey", linestyle="--", linewidth=1)
    density_axis.set_ylim(bottom=1e-6)
    density_axis.set_xlabel("eigenvalue")
    density_axis.set_ylabel("density")
    density_axis.set_title("Hessian eigenvalue density (stochastic Lanczos quadrature)", fontsize=10)
    density_axis.legend(fontsize=8)
    return _save(figure, path)


def plot_landscape(landscapes, path):
    """Loss landscapes (`loss_landscape`'s results, by model name): 1-D ones as curves in one panel,
    2-D ones as one contour panel per model, each around its own loss at distance 0."""
    one_d = {name: result for name, result in landscapes.items() if result["loss"].ndim == 1}
    two_d = {name: result for name, result in landscapes.items() if result["loss"].ndim == 2}
    panels = int(bool(one_d)) + len(two_d)
    figure = Figure(figsize=(4.2 * panels, 3.6), layout="constrained")
    axes = list(figure.subplots(1, panels, squeeze=False)[0])
    colours = _model_colours(landscapes)
    if one_d:
        axis = axes.pop(0)
        for name, result in one_d.items():
            axis.plot(result["coordinates"], result["loss"], color=colours[name], marker="o", markersize=2, label=name)
        axis.set_xlabel("distance along a filter-normalized direction")
        axis.set_ylabel("loss")
        axis.set_yscale("log")
        axis.set_title("1-D loss landscape", fontsize=10)
        axis.legend(fontsize=8)
    for axis, (name, result) in zip(axes, two_d.items()):
        coordinates = result["coordinates"]
        contours = axis.contour(coordinates, coordinates, np.log(result["loss"]).T, levels=20, cmap="viridis")
        axis.plot(0, 0, "k+")
        figure.colorbar(contours, ax=axis, label="log loss")
        axis.set_xlabel("direction 1")
        axis.set_ylabel("direction 2")
        axis.set_title(f"{name}: 2-D loss landscape", fontsize=10)
    return _save(figure, path)
