"""Every analysis on one model, written as PNG figures and the numbers behind them."""

import pathlib

import numpy as np

from keras_vit.files import write_json
from keras_vit.inspect.attention import attention_weights, run_in_batches
from keras_vit.inspect.distance import attention_distance
from keras_vit.inspect.frequency import frequency_analysis
from keras_vit.inspect.maps import token_map, token_map_label
from keras_vit.inspect.model_parts import check_images, check_layer_index, check_layer_names
from keras_vit.inspect.position_similarity import position_embedding_similarity
from keras_vit.inspect.rollout import rollout_steps
from keras_vit.models.vit import check_vision_transformer

# Figures show at most this many images; the numbers cover all of them.
MAX_SHOWN = 8


def write_report(model, images, out_dir, *, layer=-1, compare=None, batch_size=32):
    """Run all analyses on `model` and write them into `out_dir`.

    Writes `attention_maps.png` (CLS attention per head of block `layer`), `rollout.png`,
    `attention_distance.png`, `position_similarity.png` (skipped for
    `position_embedding="none"`), `frequency.png`, and the numbers: `numbers.npz` (every
    array) and `numbers.json` (the per-layer figures). `compare` maps a name to
    `(other_model, layer_names)`, e.g. a CNN, drawn beside the ViT in the frequency figure (`layer_names`
    None: its `feature_layers`). `images` are raw pixels, as the models take them.
    Returns the paths written.
    """
    try:  # matplotlib only when figures are drawn
        from keras_vit.inspect import plots
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(f"Inspect plots need matplotlib ({error}): pip install 'keras_vit[inspect]'.") from error

    images = check_images(model, images)
    encoder = check_vision_transformer(model, "The inspect report").patch_encoder
    layer = check_layer_index(layer, len(model.blocks))
    compare = dict(compare or {})
    for other, layer_names in compare.values():
        check_images(other, images)
        if layer_names is not None:
            check_layer_names(other, layer_names)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    grid, patch, prefix = encoder.grid_size, encoder.patch_size, encoder.num_prefix_tokens
    weights = attention_weights(model, images, batch_size)
    steps = rollout_steps(weights)
    distances = attention_distance(weights, grid, patch, prefix)
    attention_maps = token_map(weights[layer], grid, prefix, encoder.class_token)
    rollout_maps = token_map(steps[-1], grid, prefix, encoder.class_token)
    frequency = {model.name: frequency_analysis(model, images, None, batch_size)}
    for name, (other, layer_names) in compare.items():
        frequency[name] = frequency_analysis(other, images, layer_names, batch_size)

    shown, label = images[:MAX_SHOWN], token_map_label(encoder.class_token)
    captions = prediction_captions(model, shown, batch_size)
    paths = [
        plots.plot_attention_maps(
            shown, attention_maps[:MAX_SHOWN], out_dir / "attention_maps.png", layer, label, captions
        ),
        plots.plot_rollout(shown, rollout_maps[:MAX_SHOWN], out_dir / "rollout.png", label, captions),
        plots.plot_attention_distance(distances, grid, patch, out_dir / "attention_distance.png"),
        plots.plot_frequency(frequency, out_dir / "frequency.png"),
    ]
    arrays = dict(
        attention_weights=weights,
        rollout=steps.astype("float32"),
        attention_maps=attention_maps,
        rollout_maps=rollout_maps,
        mean_attention_distance=distances,
    )
    if encoder.position_embedding != "none":
        arrays["position_similarity"] = position_embedding_similarity(model)
        paths.append(plots.plot_position_similarity(arrays["position_similarity"], out_dir / "position_similarity.png"))
    for name, analysis in frequency.items():
        arrays[f"{name}/delta_log_amplitude"] = analysis["delta_log_amplitude"]
        arrays[f"{name}/variance"] = analysis["variance"]
        for layer_name, frequencies, values in zip(
            analysis["layer_names"], analysis["frequencies"], analysis["relative_log_amplitude"]
        ):
            arrays[f"{name}/{layer_name}/frequencies"] = frequencies
            arrays[f"{name}/{layer_name}/relative_log_amplitude"] = values
    np.savez(out_dir / "numbers.npz", **arrays)
    summary = {
        "model": model.name,
        "num_images": len(images),
        "predictions": captions,
        "attention_map_block": layer,
        "grid_size": list(grid),
        "patch_size": list(patch),
        "num_prefix_tokens": prefix,
        "mean_attention_distance_px": json_ready(distances),
        "frequency": {name: {key: json_ready(value) for key, value in analysis.items()} for name, analysis in frequency.items()},
    }
    write_json(out_dir / "numbers.json", summary)
    return paths + [out_dir / "numbers.npz", out_dir / "numbers.json"]


def prediction_captions(model, images, batch_size=32):
    """`"<class> 87%"` for each image: the model's top class (its name when it carries class names) and
    probability; None for a model without a classification head."""
    if not getattr(model, "include_top", True):
        return None
    (logits,) = run_in_batches(model, images, batch_size)
    logits = logits - logits.max(axis=-1, keepdims=True)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    names = model.class_names or [str(index) for index in range(probabilities.shape[-1])]
    return [f"{names[row.argmax()]} {row.max():.0%}" for row in probabilities]


def json_ready(value):
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.round(5).tolist()
    return value
