"""What a JAX training step of keras_vit and of keras-hub costs: XLA's own count for each, and the time.

    python benchmarks/jax_step_cost.py                        # vit_tiny_patch4_32, batch 128
    python benchmarks/jax_step_cost.py --config vit_nano_patch4_28 --batch-size 256

Jits the gradient of the cross-entropy of keras_vit's model and of keras-hub's ViT with the same
dimensions and weights (`keras_hub_vit.matched_models`), with no optimizer or Keras trainer around it,
and prints for each XLA's own cost analysis of the compiled step (FLOPs, bytes accessed), the
number of dot and transpose ops in the optimized HLO, and the median time of `--rounds` steps,
alternating the two models. Same maths, so the FLOPs differ only by how an op is lowered (exact GELU
through `erf` or `erfc`); bytes accessed show what a layout costs in memory traffic.
"""

import argparse
import os
import sys
import time

os.environ["KERAS_BACKEND"] = "jax"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def gradient_step(model):
    """A jitted `(trainable, non_trainable, images, labels) -> (loss, grads)` of `model`."""
    import jax
    import keras
    from keras import ops

    def loss(trainable, non_trainable, images, labels):
        logits, _ = model.stateless_call(trainable, non_trainable, images, training=True)
        return ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))

    return jax.jit(jax.value_and_grad(loss))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="vit_tiny_patch4_32")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)

    import jax
    import numpy as np

    from keras_hub_vit import matched_models, random_images

    config, vit, hub = matched_models(args.config, num_classes=10)
    images = random_images(config, args.batch_size)
    labels = np.random.default_rng(1).integers(0, 10, args.batch_size)

    steps = {}
    for name, model in (("keras_vit", vit), ("keras-hub", hub)):
        variables = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables])
        compiled = gradient_step(model).lower(*variables, images, labels).compile()
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost
        hlo = compiled.as_text()
        jax.block_until_ready(compiled(*variables, images, labels))
        steps[name] = dict(run=compiled, variables=variables, times=[], flops=cost["flops"],
                           bytes=cost["bytes accessed"], dots=hlo.count(" dot("),
                           transposes=hlo.count(" transpose("))
    for _ in range(args.rounds):
        for step in steps.values():
            start = time.perf_counter()
            jax.block_until_ready(step["run"](*step["variables"], images, labels))
            step["times"].append(time.perf_counter() - start)

    print(f"{args.config}, batch {args.batch_size}, JAX {jax.__version__} on {jax.devices()[0].platform}")
    print("| model | XLA GFLOP/step | GB accessed | dots | transposes | median ms/step | img/s |")
    print("|---|---|---|---|---|---|---|")
    for name, step in steps.items():
        median = float(np.median(step["times"]))
        print(f"| {name} | {step['flops'] / 1e9:.1f} | {step['bytes'] / 1e9:.2f} | {step['dots']} | "
              f"{step['transposes']} | {1000 * median:.0f} | {args.batch_size / median:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
