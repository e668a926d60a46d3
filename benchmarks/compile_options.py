"""Compile settings against each other on one backend: warm-up (compile) time and training images/s.

    python benchmarks/compile_options.py --backend tensorflow '{}' '{"jit_compile": true}'
    python benchmarks/compile_options.py --backend torch '{}' '{"jit_compile": true}'

Each JSON argument is a set of `model.compile` keyword arguments. One keras_vit model per set (as
`build_vit` returns it and training uses it), all built from the same weights; the first `fit` of each is
its warm-up (tracing and compiling included), then the sets are timed in turn, round by round, one
`fit` call each, timed to the end of its last step (`timing.seconds_to_last_step`). Prints, per set,
the warm-up seconds, the median images/s and the median over rounds of the time of the first set
over this one (the speedup against the first set, measured side by side).
"""

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import BACKENDS, check_backend, load_average, seconds_to_last_step  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("options", nargs="+", help="JSON compile kwargs, one set per argument")
    parser.add_argument("--backend", required=True, choices=BACKENDS, help="must match KERAS_BACKEND")
    parser.add_argument("--config", default="vit_tiny_patch4_32")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    return parser.parse_args(argv)


def main():
    args = parse_args()
    os.environ.setdefault("KERAS_BACKEND", args.backend)
    check_backend(args.backend)
    import keras
    import numpy as np

    import keras_vit

    options = [json.loads(text) for text in args.options]
    load_start = load_average()
    reference = keras_vit.build_vit(args.config, num_classes=10)
    rng = np.random.default_rng(0)
    height, width, channels = reference.input_shape[1:]
    images = rng.uniform(0, 255, (args.batch_size, height, width, channels)).astype("float32")
    labels = rng.integers(0, 10, args.batch_size)
    models = []
    for kwargs in options:
        model = keras_vit.build_vit(args.config, num_classes=10)
        model.set_weights(reference.get_weights())
        model.compile(
            optimizer=keras.optimizers.AdamW(1e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            **kwargs,
        )
        models.append(model)

    def train(model):
        return seconds_to_last_step(model, "fit", images, labels, batch_size=args.batch_size, verbose=0)[0]

    warmups = [train(model) for model in models]
    times = [[] for _ in models]
    for round_index in range(args.rounds):
        order = list(range(len(models)))[round_index % len(models):] + list(range(len(models)))[: round_index % len(models)]
        for index in order:
            times[index].append(train(models[index]))
    print(
        f"{keras.backend.backend()}: {args.config}, batch {args.batch_size}, {args.rounds} rounds; "
        f"load average {load_start:.1f} -> {load_average():.1f}"
    )
    print(f"| compile kwargs | warm-up s | train img/s | speedup vs {args.options[0]} |")
    print("|---|---|---|---|")
    for text, warmup, measured in zip(args.options, warmups, times):
        speedup = statistics.median(first / time for first, time in zip(times[0], measured))
        print(f"| `{text}` | {warmup:.0f} | {args.batch_size / statistics.median(measured):.1f} | {speedup:.2f} |")


if __name__ == "__main__":
    main()
