"""GPU training throughput of a ViT in bfloat16 at the largest batch that fits, with model FLOP utilization.

    python benchmarks/gpu_throughput.py                                  # vit_base_patch16_224, jax then torch
    python benchmarks/gpu_throughput.py --backends jax --batch-sizes 256,512,1024
    python benchmarks/gpu_throughput.py --config vit_tiny_patch4_32 --batch-sizes 8,16 --steps 2 --matmul-size 256  # CPU smoke run

For each backend (one process each) and each candidate batch size, smallest first, a child process builds
the model under the `mixed_bfloat16` policy (bfloat16 compute, float32 weights and logits), compiles it
with AdamW, and trains on random images: warm-up steps, then `--steps` timed steps. A batch that runs out
of memory ends the search; the largest batch that ran gives the figure. Images are a fixed batch fed
through `model.fit` from host memory, as training from an in-memory dataset would (`--data-on-device`:
from GPU memory, which leaves out the copy). The timer stops once the last weight update has finished on
the GPU. Measured figures: benchmarks/README.md. MFU is model FLOPs
(`keras_vit.flops(..., training=True)`, 3x forward, a multiply-add counted as 2) times images/s over the
GPU's dense bfloat16 peak: the datasheet figure when the GPU's name is known, and the best bfloat16 matmul
measured in the same process.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import check_backend, check_backends, matmul_flops_per_second, run_child, seconds  # noqa: E402

# Dense (no sparsity) bfloat16 tensor-core peaks from NVIDIA's datasheets, FLOP/s.
DATASHEET_BF16_PEAK = {
    "H200": 989e12,
    "H100 NVL": 835e12,
    "H100 PCIe": 756e12,
    "H100": 989e12,  # SXM
    "A100": 312e12,
    "L40S": 362e12,
}
GPU_BACKENDS = ("jax", "torch")  # the GPU image has no TensorFlow


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="vit_base_patch16_224")
    parser.add_argument("--backends", default=",".join(GPU_BACKENDS))
    parser.add_argument("--batch-sizes", default="128,256,384,512,768,1024,1536,2048")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps")
    parser.add_argument("--warmup-steps", type=int, default=3)
    parser.add_argument("--matmul-size", type=int, default=8192, help="side of the bf16 matmul timed as the peak")
    parser.add_argument("--torch-compile", action="store_true", help="compile with jit_compile=True under torch")
    parser.add_argument("--data-on-device", action="store_true",
                        help="feed a batch already in GPU memory (no host-to-device copy per step)")
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)  # one batch size, in a child process
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main():
    args = parse_args()
    if args.batch_size is not None:
        check_backend(args.backend)
        print("RESULT " + json.dumps(measure(args)), flush=True)
        return
    batch_sizes = sorted(int(size) for size in args.batch_sizes.split(",") if size)
    if not batch_sizes or batch_sizes[0] <= 0:
        raise SystemExit(f"--batch-sizes must be positive ints; got {args.batch_sizes!r}.")
    best = {}
    for backend in check_backends(args.backends):
        for batch_size in batch_sizes:
            try:
                lines = run_child(backend, [*sys.argv, "--backend", backend, "--batch-size", str(batch_size)])
            except SystemExit as failure:  # out of memory (or another failure): the previous batch is the largest
                print(f"{backend}: batch {batch_size} failed ({failure}); stopping the search", flush=True)
                break
            best[backend] = json.loads(lines[-1])
            print(f"{backend}: batch {batch_size}: {best[backend]['images_per_s']:.0f} img/s", flush=True)
    print("\n| backend | device | batch | train img/s | MFU vs datasheet bf16 peak | MFU vs measured bf16 matmul |")
    print("|---|---|---|---|---|---|")
    for backend, result in best.items():
        datasheet = result["datasheet_peak_flops_per_s"]
        datasheet_mfu = f"{100 * result['model_flops_per_s'] / datasheet:.0f}%" if datasheet else "unknown GPU"
        print(
            f"| {backend} | {result['device']} | {result['batch_size']} | {result['images_per_s']:.0f} | "
            f"{datasheet_mfu} | {100 * result['model_flops_per_s'] / result['matmul_peak_flops_per_s']:.0f}% |"
        )


def device_name():
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.devices()[0].device_kind
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def datasheet_peak(name):
    for key, peak in DATASHEET_BF16_PEAK.items():  # the more specific names come first
        if key.lower() in name.lower():
            return peak
    return None


def measure(args):
    import keras
    import numpy as np

    import keras_vit

    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    model = keras_vit.build_vit(args.config, num_classes=1000)
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True if args.torch_compile else "auto",  # "auto": XLA under JAX, eager under torch
    )
    height, width, channels = model.input_shape[1:]
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (args.batch_size, height, width, channels)).astype("float32")
    labels = rng.integers(0, 1000, args.batch_size)
    if args.data_on_device:
        images, labels = keras.ops.convert_to_tensor(images), keras.ops.convert_to_tensor(labels)

    class RepeatedBatch(keras.utils.PyDataset):
        """The same batch `steps` times (a fixed batch in host memory, not a data pipeline)."""

        def __init__(self, steps):
            super().__init__()
            self.steps = steps

        def __len__(self):
            return self.steps

        def __getitem__(self, index):
            return images, labels

    def train(steps):
        model.fit(RepeatedBatch(steps), verbose=0)
        # Under JAX, fit can return while its steps still run on the GPU: wait for the last update.
        keras.ops.convert_to_numpy(model.trainable_variables[-1].value)

    train(args.warmup_steps)
    elapsed = seconds(lambda: train(args.steps))
    name = device_name()
    images_per_s = args.steps * args.batch_size / elapsed
    model_flops = keras_vit.flops(model, training=True) * images_per_s
    return dict(
        backend=args.backend,
        device=name,
        config=args.config,
        batch_size=args.batch_size,
        data_on_device=args.data_on_device,
        images_per_s=images_per_s,
        model_flops_per_s=model_flops,
        datasheet_peak_flops_per_s=datasheet_peak(name),
        matmul_peak_flops_per_s=matmul_flops_per_second(size=args.matmul_size, dtype="bfloat16", chain=10),
    )


if __name__ == "__main__":
    main()
