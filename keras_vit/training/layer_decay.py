"""Layer-wise learning-rate decay for fine-tuning (BEiT, timm): lower blocks take smaller steps."""

import keras

from keras_vit.checks import check_number_in
from keras_vit.training.optimizer import AdamW


def check_layer_decay(decay):
    """`decay` as a float in (0, 1] (1: no decay); else a `ValueError` naming it."""
    return check_number_in(decay, "layer_decay", 0.0, 1.0, low_open=True, meaning="1: no decay")


def layer_decay_multipliers(model, decay):
    """`{variable path: learning-rate multiplier}` for every trainable variable of the model.

    The model's `layer_groups()` (a ViT's: the patch encoder, each block, then the final norm and
    heads) from the top down get `1, decay, decay ** 2, ...`: the head and final norm 1, the block
    `k` places below them `decay ** k`, the patch encoder `decay ** (depth + 1)`. The BEiT / timm
    convention. Variables in no group get 1.
    """
    decay = check_layer_decay(decay)
    if not hasattr(model, "layer_groups"):
        raise ValueError(
            f"Layer-wise learning-rate decay needs a model that declares its layer_groups() (a keras_vit "
            f"VisionTransformer); got {type(model).__name__} {model.name!r}."
        )
    groups = model.layer_groups()
    scales = {}
    for height, group in enumerate(reversed(groups)):
        for layer in group:
            scales.update({variable.path: decay**height for variable in layer.trainable_variables})
    return {variable.path: scales.get(variable.path, 1.0) for variable in model.trainable_variables}


@keras.saving.register_keras_serializable(package="keras_vit")
class LayerDecayAdamW(AdamW):
    """The package's `AdamW` with the learning rate (and so the decoupled weight decay) of each
    variable scaled by `multipliers[variable.path]` (1 for paths not listed).

    Args:
        multipliers: `{variable path: float}`, e.g. from `layer_decay_multipliers`.
        **kwargs: `AdamW` arguments (`learning_rate`, `weight_decay`, `global_clipnorm`, ...).

    Keras optimizers have one learning rate for all variables (no parameter groups), hence this
    subclass. Being a subclass, it runs on PyTorch through the per-variable `update_step`, not
    Keras' fused torch AdamW. Weight decay is applied with plain assignments: right on one
    device and under JAX's `DataParallel`, not under a multi-replica tf.distribute strategy
    (`train()` refuses that combination).
    """

    def __init__(self, multipliers, **kwargs):
        super().__init__(**kwargs)
        multipliers = dict(multipliers)
        bad = {
            path: scale
            for path, scale in multipliers.items()
            if not isinstance(scale, (int, float)) or isinstance(scale, bool) or scale < 0
        }
        if bad:
            raise ValueError(f"multipliers must map variable paths to numbers >= 0; got {bad}.")
        self.multipliers = {path: float(scale) for path, scale in multipliers.items()}

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._scales = [self.multipliers.get(variable.path, 1.0) for variable in variables]

    def _scaled_learning_rate(self, learning_rate, variable):
        scale = self._scales[self._get_variable_index(variable)]
        return keras.ops.cast(learning_rate, variable.dtype) * scale

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(gradient, variable, self._scaled_learning_rate(learning_rate, variable))

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                rate = self._scaled_learning_rate(self.learning_rate, variable)
                variable.assign(variable - variable * keras.ops.cast(self.weight_decay, variable.dtype) * rate)

    def get_config(self):
        return {**super().get_config(), "multipliers": dict(self.multipliers)}
