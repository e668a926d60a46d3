"""Park & Kim's "How do Vision Transformers work?" comparison: a ViT, a ResNet and AlterNet on the same data.

    KERAS_BACKEND=jax python recipes/how_vits_work.py [--data default] [--epochs 6] [--out DIR] [--docs DIR]

Trains the three through `keras_vit.training.train` with one `TrainConfig` apart from the model (the
default recipe's small ViT, `build_resnet` and `build_alternet` with `--cnn-widths`), with no
augmentation (the paper finds ViTs' losses non-convex on small, unaugmented data). Then on
`--analysis-images` test images (a seeded random sample) it measures, for each trained model, the
Hessian max-eigenvalue spectrum (the `--top-k` eigenvalues largest in magnitude of each mini-batch of
`--hessian-batch-size`), the share of negative eigenvalues among them, the trace (Hutchinson), the
eigenvalue density (stochastic Lanczos quadrature) and the 1-D loss landscape along a filter-normalized
direction. Writes `hessian.png` and `landscape.png` into `--docs`, and into `--out` the runs,
`curvature.json` / `.npz` (every figure) and `how_vits_work.json` / `.md` (the table: accuracy,
parameters, training time, sharpness, non-convexity, and whether each of the paper's claims holds here).
The default data is the embedded Fashion-MNIST subset (12,200 training images); `--data fashion_mnist_idx
--data-dir ../shared/data/fashion-mnist` runs on the full set.
"""

if __name__ == "__main__":  # before anything imports Keras: TensorFlow writes its start-up lines on import
    import keras_vit_cli

    keras_vit_cli.filter_startup_noise()

import argparse
import json
import os
import pathlib
import shutil
import time

import keras
import numpy as np

from keras_vit import load_model
from keras_vit.data import load_source
from keras_vit.files import write_json, write_text
from keras_vit.inspect.curvature_report import write_curvature_report
from keras_vit.training import TrainConfig, train

REPO = pathlib.Path(__file__).resolve().parents[1]


def analysis_data(source, data_dir, count, seed=0):
    """`count` test images (raw pixels, float32) and labels, sampled without replacement with `seed`."""
    _, _, test, _ = load_source(source, data_dir)
    images, labels = (np.stack(parts) for parts in zip(*test.as_numpy_iterator()))
    chosen = np.sort(np.random.default_rng(seed).choice(len(images), size=min(count, len(images)), replace=False))
    return images[chosen].astype("float32"), labels[chosen].astype("int64")


def summary_row(name, result, model, curvature):
    """One row of the table: training figures, then the figures `curvature.json` holds for the model."""
    spectrum = np.asarray(curvature["max_eigenvalues"])
    landscape = np.asarray(curvature["landscape/loss"])
    middle = len(landscape) // 2
    return {
        "model": name,
        "test_accuracy": round(result.test_accuracy, 4),
        "parameters": model.count_params(),
        "train_seconds": round(result.fit_seconds, 1),
        "median_top_eigenvalue": round(float(np.median(spectrum[:, 0])), 4),
        "median_abs_eigenvalue": round(float(np.median(np.abs(spectrum))), 4),
        "negative_top_k_share": round(curvature["negative_max_eigenvalue_share"], 4),
        "trace": round(curvature["trace"], 3),
        "trace_error": round(curvature["trace_error"], 3),
        "density_negative_share": round(curvature["negative_share"], 4),
        "loss": round(curvature["loss"], 4),
        # How much the loss rises 1 filter-norm away, averaged over both sides: a flatter landscape rises less.
        "landscape_rise": round(float((landscape[0] + landscape[-1]) / 2 - landscape[middle]), 4),
    }


def paper_claims(rows):
    """Each of the paper's claims this comparison can test, and whether it holds in `rows` (by model kind)."""
    vit, resnet, alternet = (next(row for row in rows if row["model"].startswith(kind))
                             for kind in ("ViT", "ResNet", "AlterNet"))  # fmt: skip
    return {
        "ViT's top Hessian eigenvalues are smaller than ResNet's (a flatter loss)":
            vit["median_abs_eigenvalue"] < resnet["median_abs_eigenvalue"],
        "ViT has more negative top eigenvalues than ResNet (a non-convex loss)":
            vit["negative_top_k_share"] > resnet["negative_top_k_share"],
        "ViT's 1-D loss landscape rises less than ResNet's":
            vit["landscape_rise"] < resnet["landscape_rise"],
        "AlterNet is more accurate than both the ResNet and the ViT":
            alternet["test_accuracy"] > max(vit["test_accuracy"], resnet["test_accuracy"]),
    }  # fmt: skip


def markdown(rows, claims, settings):
    columns = list(rows[0])
    lines = [settings, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[column]) for column in columns) + " |" for row in rows]
    lines += ["", *(f"- {claim}: {'holds' if holds else 'does not hold'}" for claim, holds in claims.items())]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="default")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--cnn-widths", default="16,32,64", help="channels per stage of the ResNet and AlterNet")
    parser.add_argument("--analysis-images", type=int, default=256, help="test images the curvature is measured on")
    parser.add_argument("--hessian-batch-size", type=int, default=32, help="mini-batch of the max-eigenvalue spectrum")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--trace-samples", type=int, default=10)
    parser.add_argument("--density-steps", type=int, default=32)
    parser.add_argument("--landscape-steps", type=int, default=21)
    parser.add_argument("--out", default=os.path.join("runs", "how_vits_work"))
    parser.add_argument("--docs", default=str(REPO / "docs" / "how_vits_work"), help="where the two pictures go")
    args = parser.parse_args(argv)
    widths = tuple(int(width) for width in args.cnn_widths.split(","))
    # AlterNet's heads: none in the first stage (as the paper's), then 2, 4, ... (head width = stage width / heads).
    heads = (0, *(2**stage for stage in range(1, len(widths))))
    start = time.perf_counter()

    base = TrainConfig(
        name="how_vits_work", data=args.data, data_dir=args.data_dir, epochs=args.epochs,
        batch_size=args.batch_size, augment="none", tensorboard=False, verbose=2,
    )  # fmt: skip
    runs = {
        f"ViT ({base.model}, {base.model_overrides['depth']} blocks)": base.replace(
            output_dir=os.path.join(args.out, "vit")),
        f"ResNet (widths {args.cnn_widths})": base.replace(
            model="resnet", model_overrides=dict(widths=widths), output_dir=os.path.join(args.out, "resnet")),
        f"AlterNet (widths {args.cnn_widths})": base.replace(
            model="alternet", model_overrides=dict(widths=widths, num_heads=heads),
            output_dir=os.path.join(args.out, "alternet")),
    }  # fmt: skip
    trained = {}
    for name, config in runs.items():
        result = train(config)
        trained[name] = (result, load_model(os.path.join(result.output_dir, "model.keras")))
    train_seconds = time.perf_counter() - start

    images, labels = analysis_data(args.data, args.data_dir, args.analysis_images)
    options = dict(batch_size=args.hessian_batch_size, top_k=args.top_k, trace_samples=args.trace_samples,
                   density_steps=args.density_steps, landscape_steps=args.landscape_steps)  # fmt: skip
    out = pathlib.Path(args.out)
    write_curvature_report({name: model for name, (_, model) in trained.items()}, images, labels, out, **options)
    numbers = json.loads((out / "curvature.json").read_text())["models"]
    docs = pathlib.Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    for picture in ("hessian.png", "landscape.png"):
        shutil.copy(out / picture, docs / picture)

    rows = [summary_row(name, result, model, numbers[name]) for name, (result, model) in trained.items()]
    claims = paper_claims(rows)
    total_seconds = time.perf_counter() - start
    settings = (f"{args.epochs} epochs on {args.data} (no augmentation), backend {keras.backend.backend()}; "
                f"curvature on {len(images)} test images, mini-batches of {args.hessian_batch_size}, top "
                f"{args.top_k}; {train_seconds / 60:.1f} min training, "
                f"{total_seconds / 60:.1f} min in all")  # fmt: skip
    table = markdown(rows, claims, settings)
    print(table)
    write_text(out / "how_vits_work.md", table + "\n")
    write_json(out / "how_vits_work.json", {
        "settings": vars(args), "backend": keras.backend.backend(), "train_seconds": round(train_seconds, 1),
        "total_seconds": round(total_seconds, 1), "rows": rows, "claims": claims})  # fmt: skip
    return rows, claims


if __name__ == "__main__":
    main()
