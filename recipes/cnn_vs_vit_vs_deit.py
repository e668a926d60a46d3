"""CNN vs ViT vs DeiT vs Swin vs a hybrid ViT on the same data and the same budget (epochs, augmentation, optimizer).

    python recipes/cnn_vs_vit_vs_deit.py [--data fashion_mnist_idx --data-dir DIR] [--epochs N] [--out DIR]
        [--augment none|flip|light|deit] [--cnn-widths 16,32,64] [--vit vit_nano_patch4_28]
        [--swin swin_tiny_patch2_window7_28] [--hybrid vit_tiny_r8_s4_32] [--only cnn,vit,deit,swin,hybrid]
        [--distillation hard|soft] [--distillation-alpha A] [--distillation-temperature T] [--teacher-epochs N]
        [--teacher-label-smoothing S] [--student-set FIELD=VALUE ...] [--seed N]

Trains (a) a small ResNet (`build_resnet` with `--cnn-widths`), (b) a plain ViT, (c) a DeiT
student of the same size distilled from (a) (hard distillation, alpha 0.5, by default), (d) a Swin Transformer and (e) a
hybrid ViT (a ResNetV2 computes its tokens; built at the data's image size and channels), each through `keras_vit.training.train` with the same
`TrainConfig` apart from the model (`--student-set` changes the ViT and the DeiT alike, e.g. to give
both a convolutional stem); then prints and saves (`comparison.md`, `comparison.json`)
test accuracy, parameters, training time, training images/s and batch-1 inference latency.
The default data is the embedded Fashion-MNIST subset; `--data fashion_mnist_idx --data-dir
../shared/data/fashion-mnist` runs on the full set.
"""

if __name__ == "__main__":  # before anything imports Keras: TensorFlow writes its start-up lines on import
    import keras_vit_cli

    keras_vit_cli.filter_startup_noise()

import argparse
import os
import time

import keras
import numpy as np

from keras_vit import load_model
from keras_vit.files import write_json, write_text
from keras_vit.training import TrainConfig, check_run_dir, train
from keras_vit.training.cli import set_overrides
from keras_vit.training.train import check_config


def batch1_latency_ms(model, image_shape, repeats=100):
    """Median wall time of `predict_on_batch` on one image, after warm-up."""
    image = np.random.default_rng(0).uniform(0, 255, size=(1, *image_shape)).astype("float32")  # raw pixels
    for _ in range(10):
        model.predict_on_batch(image)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(image)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def distilled_name(vit_name):
    """`vit_nano_patch4_28` -> `deit_nano_distilled_patch4_28`."""
    size, rest = vit_name.removeprefix("vit_").split("_", 1)
    return f"deit_{size}_distilled_{rest}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="default")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--vit", default="vit_nano_patch4_28", help="ViT config; the DeiT is its distilled form")
    parser.add_argument(
        "--cnn-widths", default="16,32,64", help="channels per ResNet stage (build_resnet's default is 32,64,128)"
    )
    parser.add_argument("--swin", default="swin_tiny_patch2_window7_28", help="Swin Transformer config")
    parser.add_argument("--hybrid", default="vit_tiny_r8_s4_32", help="hybrid ViT config (built at the data's size)")
    parser.add_argument("--only", default="cnn,vit,deit,swin,hybrid", help="the runs to make (deit needs cnn)")
    parser.add_argument(
        "--distillation", default=TrainConfig.distillation, help="the DeiT's distillation loss: hard or soft"
    )
    parser.add_argument(
        "--distillation-alpha", type=float, default=TrainConfig.distillation_alpha, help="weight of the distillation loss"
    )
    parser.add_argument(
        "--distillation-temperature", type=float, default=TrainConfig.distillation_temperature,
        help="temperature of soft distillation",
    )  # fmt: skip
    parser.add_argument(
        "--student-set", action="append", default=[], metavar="FIELD=VALUE",
        help="a ViTConfig override for both the ViT and the DeiT, as keras-vit train's --set "
        "(e.g. patch_embedding=conv_stem); repeatable",
    )  # fmt: skip
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--teacher-epochs", type=int, help="epochs of the CNN (the DeiT's teacher); default: --epochs")
    parser.add_argument(
        "--teacher-label-smoothing", type=float, default=TrainConfig.label_smoothing,
        help=f"label smoothing of the CNN (the DeiT's teacher); the students keep {TrainConfig.label_smoothing:g}",
    )  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--augment", default="flip", help="AugmentConfig preset: none, flip, light, deit")
    parser.add_argument(
        "--seed", type=int, default=TrainConfig.seed,
        help="seed of every run (initial weights, validation split, data order); folders of another seed end in _seedN",
    )  # fmt: skip
    parser.add_argument("--out", default=os.path.join("runs", "cnn_vs_vit_vs_deit"))
    args = parser.parse_args(argv)
    widths = tuple(int(width) for width in args.cnn_widths.split(","))

    base = TrainConfig(
        name="compare", model_overrides={}, data=args.data, data_dir=args.data_dir, epochs=args.epochs,
        batch_size=args.batch_size, augment=args.augment, base_learning_rate=8e-3, warmup_epochs=1,
        seed=args.seed, tensorboard=False, verbose=2,
    )  # fmt: skip
    teacher_epochs = args.epochs if args.teacher_epochs is None else args.teacher_epochs
    distillation = {name: getattr(args, name) for name in ("distillation", "distillation_alpha", "distillation_temperature")}
    # Each run trains into a folder named after what differs from the defaults (epochs, seed, teacher, distillation,
    # student settings), so that runs with other settings never meet a finished run of another config.
    seed_suffix = "" if args.seed == parser.get_default("seed") else f"_seed{args.seed}"

    def run_suffix(epochs):
        return ("" if epochs == parser.get_default("epochs") else f"_{epochs}epochs") + seed_suffix

    # A teacher trained without label smoothing keeps in its logits how alike the wrong classes are, which
    # soft distillation passes on (Mueller et al. 2019, "When does label smoothing help?").
    teacher_smoothing = ""
    if args.teacher_label_smoothing != base.label_smoothing:
        teacher_smoothing = f"_ls{args.teacher_label_smoothing:g}"
    teacher_dir = os.path.join(args.out, "cnn" + run_suffix(teacher_epochs) + teacher_smoothing)
    deit_dir, teacher_label = "deit", "CNN teacher"
    if any(value != parser.get_default(name) for name, value in distillation.items()):
        deit_dir += f"_{args.distillation}_alpha{args.distillation_alpha:g}_t{args.distillation_temperature:g}"
    if teacher_epochs != args.epochs:
        deit_dir += f"_teacher{teacher_epochs}epochs"
        teacher_label += f" of {teacher_epochs} epochs"
    if teacher_smoothing:
        deit_dir += f"_teacher{teacher_smoothing[1:]}"
        teacher_label += f", label smoothing {args.teacher_label_smoothing:g}"
    student = set_overrides({}, args.student_set)
    vit_dir, student_label, suffix = "vit", "", run_suffix(args.epochs)
    if student:
        suffix += "_" + "_".join(args.student_set)
        student_label = " with " + ", ".join(args.student_set)
    vit_dir, deit_dir = vit_dir + suffix, deit_dir + suffix
    runs = {
        "cnn": ("CNN (ResNet)", base.replace(
            model="resnet", model_overrides=dict(widths=widths), epochs=teacher_epochs,
            label_smoothing=args.teacher_label_smoothing, output_dir=teacher_dir,
        )),
        "vit": (f"ViT ({args.vit}{student_label})", base.replace(
            model=args.vit, model_overrides=student, output_dir=os.path.join(args.out, vit_dir)
        )),
        "deit": (f"DeiT ({distilled_name(args.vit)}{student_label}, {teacher_label}, {args.distillation})", base.replace(
            model=distilled_name(args.vit),
            model_overrides=student,
            teacher=os.path.join(teacher_dir, "model.keras"),
            output_dir=os.path.join(args.out, deit_dir),
            **distillation,
        )),
        "swin": (f"Swin ({args.swin})", base.replace(
            model=args.swin, output_dir=os.path.join(args.out, "swin" + run_suffix(args.epochs))
        )),
        "hybrid": (f"Hybrid ViT ({args.hybrid})", base.replace(
            model=args.hybrid, output_dir=os.path.join(args.out, "hybrid" + run_suffix(args.epochs))
        )),
    }  # fmt: skip
    chosen = [key for key in args.only.split(",") if key]
    if not chosen or set(chosen) - set(runs) or ("deit" in chosen and "cnn" not in chosen):
        raise SystemExit(f"--only must name runs among {', '.join(runs)} (deit with cnn, its teacher); got {args.only!r}.")
    runs = dict(runs[key] for key in runs if key in chosen)
    # Every config and folder is checked before anything trains: a bad setting or a clash then stops the recipe
    # at once, not after the runs before it have trained. The teacher's file is checked when the DeiT starts,
    # after the CNN has trained it.
    problems = []
    for label, config in runs.items():
        try:
            check_config(config.replace(teacher=None))
            check_run_dir(config.run_dir, config.to_json())
        except ValueError as error:
            problems.append(f"{label}: {error}")
    if problems:
        raise SystemExit("\n".join(problems))
    rows = []
    for label, config in runs.items():
        result = train(config)
        model = load_model(os.path.join(result.output_dir, "model.keras"))
        rows.append(
            {
                "model": label,
                "test_accuracy": round(result.test_accuracy, 4),
                "parameters": model.count_params(),
                "train_seconds": round(result.fit_seconds, 1),
                "train_images_per_second": round(result.images_per_second, 1),
                "batch1_latency_ms": round(batch1_latency_ms(model, model.input_shape[1:]), 2),
            }
        )
    header = "| " + " | ".join(rows[0]) + " |"
    lines = [
        f"{args.epochs} epochs on {args.data}, augment {args.augment}, backend {keras.backend.backend()}",
        "",
        header,
        "|" + "---|" * len(rows[0]),
        *("| " + " | ".join(str(v) for v in row.values()) + " |" for row in rows),
    ]
    table = "\n".join(lines)
    print(table)
    write_text(os.path.join(args.out, "comparison.md"), table + "\n")
    write_json(os.path.join(args.out, "comparison.json"), {"settings": vars(args), "rows": rows})
    return rows


if __name__ == "__main__":
    main()
