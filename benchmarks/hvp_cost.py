"""What one Hessian-vector product costs against one gradient, on each backend.

    python benchmarks/hvp_cost.py                                  # all three backends, every model
    python benchmarks/hvp_cost.py --backends jax --models vit --batch-size 32 --rounds 5

For each backend (one process each; the script re-launches itself) and each model (the default
recipe's ViT, `vit_nano_patch4_28` with 4 blocks of 2 heads; the ResNet and AlterNet of
`recipes/how_vits_work.py`, widths 16, 32, 64; all on 28x28x1 raw pixels, 10 classes) it builds the
`HessianOperator` that every Hessian analysis of `keras_vit.inspect` uses, on one batch of random
images, and times `operator.gradient()` and `operator.matvec(v)` alternately, `--rounds` times each
after a warm-up call (JAX and TensorFlow compile then). Both calls include the same conversion from
and to a flat float64 numpy vector, so the ratio is what an analysis pays per product. Prints the
median milliseconds of each and their ratio, with the load average (other users of the cores).
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import BACKENDS, check_backend, check_backends, load_average, run_child  # noqa: E402

MODELS = ("vit", "resnet", "alternet")


def build(name):
    import keras_vit
    from keras_vit.training import TrainConfig

    if name == "vit":
        default = TrainConfig()
        return keras_vit.build_vit(default.model, num_classes=10, **default.model_overrides)
    builder = keras_vit.build_resnet if name == "resnet" else keras_vit.build_alternet
    return builder(num_classes=10, image_size=28, channels=1, widths=(16, 32, 64))


def measure(name, batch_size, rounds):
    import numpy as np

    from keras_vit.inspect.hessian import HessianOperator
    from keras_vit.inspect.objective import Objective

    model = build(name)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch_size, 28, 28, 1)).astype("float32")
    operator = HessianOperator(Objective(model, images, rng.integers(0, 10, batch_size)))
    vector = rng.standard_normal(operator.size)
    times = {"gradient": [], "hvp": []}
    calls = {"gradient": operator.gradient, "hvp": lambda: operator.matvec(vector)}
    for call in calls.values():
        call()  # warm-up: compiles under JAX and TensorFlow
    for _ in range(rounds):
        for kind, call in calls.items():
            start = time.perf_counter()
            call()
            times[kind].append(time.perf_counter() - start)
    gradient, hvp = (1000 * statistics.median(times[kind]) for kind in ("gradient", "hvp"))
    return dict(model=name, weights=operator.size, gradient_ms=gradient, hvp_ms=hvp, ratio=hvp / gradient)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated; one process each")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--backend", help=argparse.SUPPRESS)  # set by the re-launch
    args = parser.parse_args(argv)
    models = [name for name in args.models.split(",") if name]
    if not models or set(models) - set(MODELS):
        raise SystemExit(f"Unknown or no model(s) in {args.models!r}; valid: {', '.join(MODELS)}.")
    if args.backend:
        check_backend(args.backend)
        for name in models:
            load = load_average()
            result = measure(name, args.batch_size, args.rounds)
            result.update(backend=args.backend, load=(load, load_average()))
            print("RESULT " + json.dumps(result), flush=True)
        return 0
    results = []
    for backend in check_backends(args.backends):
        child = [os.path.abspath(__file__), *argv_of(args), "--backend", backend]
        results += [json.loads(line) for line in run_child(backend, child)]
    print(f"\nbatch {args.batch_size}, median of {args.rounds} calls each, float32")
    print("| backend | model | weights | gradient (ms) | HVP (ms) | HVP / gradient | load |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['backend']} | {r['model']} | {r['weights']:,} | {r['gradient_ms']:.1f} | {r['hvp_ms']:.1f} | "
              f"{r['ratio']:.2f} | {r['load'][0]:.1f}-{r['load'][1]:.1f} |")
    return 0


def argv_of(args):
    return ["--models", args.models, "--batch-size", str(args.batch_size), "--rounds", str(args.rounds)]


if __name__ == "__main__":
    sys.exit(main())
