"""DeiT's distillation through a CNN teacher, as a wrapper that trains with plain `fit`."""

import keras
from keras import ops

from keras_vit.checks import check_choice, check_number_in, check_positive_number

DISTILLATION_KINDS = ("hard", "soft")


def cross_entropy(labels, logits):
    """Mean cross-entropy for int labels `(B,)` or (soft) one-hot labels `(B, classes)`."""
    if len(labels.shape) == len(logits.shape):
        return keras.losses.CategoricalCrossentropy(from_logits=True)(labels, logits)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)


def distillation_loss(dist_logits, teacher_logits, distillation="hard", temperature=1.0):
    """DeiT's distillation term D, averaged over the batch.

    `"hard"`: cross-entropy of the distillation head against the teacher's argmax.
    `"soft"`: `tau^2 * KL(softmax(teacher / tau) || softmax(student / tau))`.
    """
    if distillation == "hard":
        return cross_entropy(ops.argmax(teacher_logits, axis=-1), dist_logits)
    teacher_probs = ops.softmax(teacher_logits / temperature, axis=-1)
    student_probs = ops.softmax(dist_logits / temperature, axis=-1)
    return keras.losses.KLDivergence()(teacher_probs, student_probs) * temperature**2


class DistillationModel(keras.Model):
    """Trains a distilled DeiT `student` against a frozen `teacher` with plain `model.fit`.

    `loss = (1 - alpha) * CE(cls head, labels) + alpha * D(dist head, teacher logits)`,
    with D as in `distillation_loss`. The teacher runs in inference mode on the same
    (augmented) batch as the student and is never updated. In training `call` gives both
    heads' logits (`student.head_outputs`); otherwise the student's output, their average, so
    `evaluate`/`predict` measure the student as deployed. Save and export `model.student`: this
    wrapper is for training only (its `save` writes the student).

    Keras' own `keras.distillation.Distiller` is not used: it puts the student loss and the
    distillation loss on the same output, while DeiT trains two heads, the class head on the
    labels and the distillation head on the teacher.
    """

    def __init__(self, student, teacher, alpha=0.5, temperature=1.0, distillation="hard", **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_number_in(alpha, "alpha", 0.0, 1.0)
        self.temperature = float(check_positive_number(temperature, "temperature"))
        self.distillation = check_choice(distillation, "distillation", DISTILLATION_KINDS)
        if getattr(student, "head_dist", None) is None:
            raise ValueError(
                f"Model {student.name!r} ({type(student).__name__}) is not a distilled DeiT: it needs a distillation "
                "token's head 'head_dist' (build it with keras_vit.build_deit and a *_distilled_* config; a Swin "
                "Transformer or a CNN has no token to distill into)."
            )
        if tuple(teacher.input_shape[1:]) != tuple(student.input_shape[1:]):
            raise ValueError(
                f"Teacher and student must take the same images: teacher input {teacher.input_shape[1:]}, "
                f"student input {student.input_shape[1:]}."
            )
        if teacher.output_shape[-1] != student.output_shape[-1]:
            raise ValueError(
                f"Teacher and student must have the same number of classes: teacher {teacher.output_shape[-1]}, "
                f"student {student.output_shape[-1]}."
            )
        teacher.trainable = False
        self.student = student
        self.teacher = teacher
        self.built = True  # its layers are built models; Keras saves and loads the weights of built models only

    def no_weight_decay(self):
        return self.student.no_weight_decay()

    def layer_groups(self):
        return self.student.layer_groups()

    def save(self, filepath, overwrite=True, **kwargs):
        """Saves the student alone (so checkpoint callbacks write a deployable DeiT)."""
        return self.student.save(filepath, overwrite=overwrite, **kwargs)

    def call(self, images, training=None):
        if training:
            return tuple(self.student.head_outputs(images, training=True))
        return self.student(images, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if not isinstance(y_pred, (tuple, list)):
            return cross_entropy(y, y_pred)  # evaluation: the averaged logits
        cls_logits, dist_logits = y_pred
        teacher_logits = ops.stop_gradient(self.teacher(x, training=False))
        loss = (1.0 - self.alpha) * cross_entropy(y, cls_logits)
        if self.alpha:
            loss = loss + self.alpha * distillation_loss(dist_logits, teacher_logits, self.distillation, self.temperature)
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if isinstance(y_pred, (tuple, list)):
            y_pred = (y_pred[0] + y_pred[1]) / 2.0
        return super().compute_metrics(x, y, y_pred, sample_weight)
