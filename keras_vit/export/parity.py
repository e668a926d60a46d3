import numpy as np

from keras_vit.errors import KerasViTError


class ParityError(KerasViTError, RuntimeError):
    """An exported artifact's outputs differ from the Keras model's by more than allowed.

    `report` is the `ExportReport` with the measured figures.
    """

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


def compare(reference, outputs):
    """`(max_abs_diff, top1_agreement)` of `outputs` against `reference`, both `(N, classes)`."""
    reference, outputs = np.asarray(reference, "float32"), np.asarray(outputs, "float32")
    if reference.shape != outputs.shape:
        raise ValueError(f"Artifact output shape {outputs.shape} differs from the model's {reference.shape}.")
    max_abs_diff = float(np.max(np.abs(reference - outputs)))
    top1_agreement = float(np.mean(reference.argmax(-1) == outputs.argmax(-1)))
    return max_abs_diff, top1_agreement


def check_parity(report, max_abs_diff, min_top1_agreement):
    """Raise `ParityError` if an fp32 artifact differs by more than `max_abs_diff`, or a
    quantized one agrees on top-1 for fewer than `min_top1_agreement` of the samples."""
    if report.quantize is None and not report.max_abs_diff <= max_abs_diff:
        raise ParityError(
            f"{report.format} export differs from the Keras model by up to {report.max_abs_diff:.3g} "
            f"(allowed {max_abs_diff:g}) on {report.num_samples} samples.",
            report,
        )
    if report.quantize is not None and not report.top1_agreement >= min_top1_agreement:
        raise ParityError(
            f"{report.format} ({report.quantize}) export agrees with the Keras model on top-1 for "
            f"{report.top1_agreement:.2%} of {report.num_samples} samples (required {min_top1_agreement:.2%}).",
            report,
        )
