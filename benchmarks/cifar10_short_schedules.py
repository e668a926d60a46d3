"""Benchmark: what a short CIFAR-10 schedule needs, one choice at a time, on a subset of the training images.

Each variant is the baseline with one change (crop scale, MixUp/CutMix, warm-up, batch size, label
smoothing, width and depth), trained from the same seed on the same subset. The baseline is
`recipes/cifar10_vit_cpu.py` with 6 blocks, as the recipe was before this study chose 4 (`depth_4` here):
`--per-class` training images of each class (default 1,500), of which `--validation-split` (default 0.2) are
held out, for `--epochs` (default 8). An hour of the 6-block recipe saw each of 45,000 images 14 times; a variant
here sees each of 12,000 images 8 times, about a seventh of the work, so the study ranks the choices at a
smaller scale.

Prints, per variant, the validation accuracy after every epoch, then a table: the best and last validation
accuracy, `fit` seconds and training images/s. The variants are compared on validation only; the subset's test
folder holds `--test-per-class` images of each class (default 100: a run needs one) and its accuracy is not
printed.

    python benchmarks/cifar10_short_schedules.py --data-dir DIR            # DIR: the unpacked cifar10-jpg.tar.gz
    python benchmarks/cifar10_short_schedules.py --data-dir DIR --only baseline,no_warmup

Results (each run's result.json) go to runs/cifar10_short_schedules/<variant>/.
"""

import argparse
import dataclasses
import pathlib
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from timing import epoch_timer  # noqa: E402

BASELINE_DEPTH = 6


def variants(baseline):
    """name -> (what changes, the `TrainConfig` fields to replace). One change from `baseline` each."""
    from keras_vit.data import AugmentConfig

    light = AugmentConfig.light()
    crop = dict(pad_crop=0, random_resized_crop=True)
    return {
        "baseline": ("the baseline: shifts of up to 4 px, flips, label smoothing 0.1, 1 warm-up epoch, batch 128, "
                     "6 blocks", {}),
        "crop_0.08": ("random resized crop, scale 0.08-1 (DeiT's), instead of shifts",
                      dict(augment=dataclasses.replace(light, **crop, crop_scale=(0.08, 1.0)))),
        "crop_0.35": ("random resized crop, scale 0.35-1, instead of shifts",
                      dict(augment=dataclasses.replace(light, **crop, crop_scale=(0.35, 1.0)))),
        "mix_deit": ("MixUp 0.8 / CutMix 1.0 (DeiT's) on top of the shifts",
                     dict(augment=dataclasses.replace(light, mixup_alpha=0.8, cutmix_alpha=1.0))),
        "mixup_0.2": ("MixUp 0.2 on top of the shifts", dict(augment=dataclasses.replace(light, mixup_alpha=0.2))),
        "no_label_smoothing": ("label smoothing 0", dict(label_smoothing=0.0)),
        "no_warmup": ("no warm-up", dict(warmup_epochs=0)),
        "batch_64": ("batch 64 (peak learning rate 1e-3, scaled linearly)", dict(batch_size=64)),
        "depth_4": ("4 blocks instead of 6", dict(model_overrides={**baseline.model_overrides, "depth": 4})),
        "wide_4": ("width 192, 3 heads, MLP 384, 4 blocks",
                   dict(model_overrides={**baseline.model_overrides, "dim": 192, "num_heads": 3, "mlp_dim": 384,
                                         "depth": 4})),
    }


def subset_folder(data_dir, per_class, test_per_class, destination):
    """An image folder of links: the first `per_class` training images of each class of `data_dir` and
    the first `test_per_class` of its test images."""
    source = pathlib.Path(data_dir)
    train = source / "train"
    classes = sorted(path.name for path in train.iterdir() if path.is_dir()) if train.is_dir() else []
    if not classes:
        raise SystemExit(f"--data-dir {data_dir!r} has no train/<class>/ folders; pass the unpacked cifar10-jpg.tar.gz.")
    for split, count in (("train", per_class), ("test", test_per_class)):
        for name in classes:
            files = sorted((source / split / name).iterdir())
            if len(files) < count:
                raise SystemExit(f"{source / split / name} has {len(files)} images; {count} are needed (--per-class, "
                                 "--test-per-class).")
            folder = pathlib.Path(destination) / split / name
            folder.mkdir(parents=True)
            for file in files[:count]:
                (folder / file.name).symlink_to(file.resolve())
    return str(destination)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="image folder with train/<class>/ and test/<class>/")
    parser.add_argument("--per-class", type=int, default=1500, help="training images of each class")
    parser.add_argument("--test-per-class", type=int, default=100, help="test images of each class")
    parser.add_argument("--validation-split", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--only", help="comma-separated variant names (default: all, in the table's order)")
    parser.add_argument("--output-dir", default="runs/cifar10_short_schedules")
    args = parser.parse_args(argv)

    import keras

    from keras_vit.training import train
    from keras_vit.training.cli import load_recipe

    recipe = load_recipe(str(REPO / "recipes" / "cifar10_vit_cpu.py"))
    baseline = recipe.replace(model_overrides={**recipe.model_overrides, "depth": BASELINE_DEPTH})
    table = variants(baseline)
    names = args.only.split(",") if args.only else list(table)
    unknown = [name for name in names if name not in table]
    if unknown:
        raise SystemExit(f"Unknown variant(s) {unknown}; valid: {', '.join(table)}.")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = subset_folder(args.data_dir, args.per_class, args.test_per_class, pathlib.Path(scratch) / "cifar10")
        for name in names:
            description, changes = table[name]
            config = baseline.replace(data_dir=data_dir, epochs=args.epochs, validation_split=args.validation_split,
                                    output_dir=f"{args.output_dir}/{name}", overwrite=True, verbose=0, **changes)
            print(f"{name}: {description}", flush=True)
            result = train(config, callbacks=[epoch_timer(config.batch_size)])
            rows.append((name, result))
    print(f"backend: {keras.backend.backend()}, {args.per_class} images per class, validation split "
          f"{args.validation_split}, {args.epochs} epochs, seed {baseline.seed}")
    print("| variant | best validation (epoch) | last validation | fit s | images/s |")
    print("|---|---|---|---|---|")
    for name, result in rows:
        print(f"| {name} | {result.best_validation_accuracy:.2%} ({result.best_epoch + 1}) | "
              f"{result.validation_accuracy:.2%} | {result.fit_seconds:.0f} | {result.images_per_second:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
