import dataclasses


@dataclasses.dataclass
class ExportReport:
    """What `export` wrote and, when verified, how closely it matches the Keras model.

    `max_abs_diff` is the largest absolute difference between the artifact's outputs and the
    model's over `num_samples` inputs; `top1_agreement` the fraction of those inputs whose
    argmax is the same; `latency_ms` the median batch-1 latency of the artifact on this machine.
    """

    path: str
    format: str
    quantize: str | None = None
    file_size_bytes: int = 0
    num_samples: int = 0
    max_abs_diff: float | None = None
    top1_agreement: float | None = None
    latency_ms: float | None = None

    @property
    def verified(self):
        return self.num_samples > 0

    def to_dict(self):
        return {**dataclasses.asdict(self), "verified": self.verified}

    def __str__(self):
        kind = self.format + (f" ({self.quantize})" if self.quantize else "")
        text = f"{kind} -> {self.path}: {self.file_size_bytes / 1e6:.2f} MB"
        if self.verified:
            text += (
                f"; on {self.num_samples} samples max |diff| {self.max_abs_diff:.3g}, "
                f"top-1 agreement {self.top1_agreement:.2%}, batch-1 latency {self.latency_ms:.2f} ms"
            )
        return text
