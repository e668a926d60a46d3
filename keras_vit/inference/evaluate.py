"""`evaluate`: top-1 / top-5 accuracy, per-class accuracy, loss and the confusion matrix of a model object or
any artifact on a data source, with the confusion matrix written as JSON and PNG."""

import pathlib

import numpy as np

from keras_vit.checks import check_choice, check_positive_int
from keras_vit.files import atomic_path, write_json
from keras_vit.inference.images import match_channels
from keras_vit.inference.predict import softmax
from keras_vit.inference.runner import open_runner

SPLITS = ("train", "test")


def evaluate(model_or_path, data="default", data_dir=None, split="test", batch_size=128):
    """Evaluate on the `split` of `data`, any source `keras_vit.data` reads (`"default"`,
    `"fashion_mnist_idx"`, `"folder"`, `"tfds:<name>"`, with `data_dir`); the images are resized to the
    model's size and converted to its channels. The model's class names, when it carries them, must be
    the data's. A flat image folder's test split is the one `train` holds out at its default `test_split`;
    its "train" split includes the images `train` held out for validation.

    Returns a dict: `top1_accuracy`, `top5_accuracy` (top-k with k = min(5, classes)), `loss` (mean
    cross-entropy), `per_class_accuracy` (`{class name: accuracy}`), `confusion_matrix` (rows: true
    class, columns: predicted), `class_names`, `num_images`, and where it came from (`model`, `data`, `split`).
    """
    from keras_vit.data import load_source  # TensorFlow's tf.data: imported when evaluating

    check_choice(split, "split", SPLITS)
    check_positive_int(batch_size, "batch_size")
    runner = open_runner(model_or_path, batch_size)
    train, _, test, info = load_source(data, data_dir, image_size=runner.image_shape[:2])
    class_names = [str(name) for name in info["class_names"]]
    _check_classes(runner, class_names, data)
    logits, labels = [], []
    for images, batch_labels in (test if split == "test" else train).batch(batch_size).as_numpy_iterator():
        logits.append(runner(match_channels(images, runner.image_shape[2])))
        labels.append(batch_labels)
    logits, labels = np.concatenate(logits), np.concatenate(labels).astype(int)
    return summarize(logits, labels, class_names) | {"model": runner.source, "data": data, "split": split}


def _check_classes(runner, class_names, data):
    if runner.class_names is not None and list(runner.class_names) != class_names:
        raise ValueError(f"{runner.source} classifies {runner.class_names}, but {data!r} has classes {class_names}.")


def summarize(logits, labels, class_names):
    """The figures `evaluate` returns, from logits `(N, classes)` and int labels `(N,)`."""
    num_classes = len(class_names)
    if logits.shape[1] != num_classes:
        raise ValueError(f"The model gives {logits.shape[1]} logits, but the data has {num_classes} classes.")
    probabilities = softmax(logits.astype("float64"))
    predicted = probabilities.argmax(axis=1)
    k = min(5, num_classes)
    top_k = np.argsort(-probabilities, axis=1)[:, :k]
    confusion = np.zeros((num_classes, num_classes), int)
    np.add.at(confusion, (labels, predicted), 1)
    totals = confusion.sum(axis=1)
    return {
        "num_images": int(len(labels)),
        "top1_accuracy": float(np.mean(predicted == labels)),
        "top5_accuracy": float(np.mean((top_k == labels[:, None]).any(axis=1))),
        "loss": float(-np.mean(np.log(np.maximum(probabilities[np.arange(len(labels)), labels], 1e-30)))),
        "per_class_accuracy": {
            name: (float(confusion[i, i] / totals[i]) if totals[i] else None) for i, name in enumerate(class_names)
        },
        "class_names": class_names,
        "confusion_matrix": confusion.tolist(),
    }


def write_evaluation(result, out_dir):
    """`evaluation.json` (every figure) and `confusion_matrix.png` into `out_dir`; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "evaluation.json"
    write_json(json_path, result)
    matrix = np.asarray(result["confusion_matrix"])
    names = result["class_names"]
    size = max(4.0, 0.5 * len(names) + 2)
    figure, axes = plt.subplots(figsize=(size + 1, size))
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, label="images")
    axes.set_xticks(range(len(names)), names, rotation=90)
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    if len(names) <= 20:
        for (row, column), count in np.ndenumerate(matrix):
            axes.text(column, row, str(count), ha="center", va="center", fontsize=7,
                      color="white" if count > matrix.max() / 2 else "black")  # fmt: skip
    axes.set_title(f"top-1 {result['top1_accuracy']:.2%} on {result['num_images']} images ({result['split']})")
    figure.tight_layout()
    png_path = out_dir / "confusion_matrix.png"
    with atomic_path(png_path) as temporary:
        figure.savefig(temporary, dpi=100)
    plt.close(figure)
    return [json_path, png_path]
