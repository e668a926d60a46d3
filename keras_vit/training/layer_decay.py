"""Layer-wise learning-rate decay for fine-tuning (BEiT, timm): lower blocks take smaller steps."""

import keras

from keras_vit.models.parts import patch_encoder_of, transformer_blocks_of
from keras_vit.training.optimizer import AdamW


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_layer_decay(decay):
    """`decay` as a float in (0, 1]; else a `ValueError` naming it."""
    if not _is_number(decay) or not 0.0 < decay <= 1.0:
        raise ValueError(f"layer_decay must be a number in (0, 1] (1: no decay); got {decay!r}.")
    return float(decay)


def layer_decay_multipliers(model, decay):
    """`{variable path: learning-rate multiplier}` for every trainable variable of a ViT or DeiT.

    1 for the head, the final norm and anything else above the blocks; `decay ** k` for the
    `TransformerBlock` `k` places below the top; `decay ** (depth + 1)` for the `PatchEncoder`
    (patch projection, tokens, position embeddings). The BEiT / timm convention.
    """
    decay = check_layer_decay(decay)
    blocks = transformer_blocks_of(model, "Layer decay")
    depth = len(blocks)
    layer_ids = {variable.path: 0 for variable in patch_encoder_of(model).weights}
    for index, block in enumerate(blocks):
        layer_ids.update({variable.path: index + 1 for variable in block.weights})
    return {
        variable.path: decay ** (depth + 1 - layer_ids.get(variable.path, depth + 1))
        for variable in model.trainable_variables
    }


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
        bad = {path: scale for path, scale in multipliers.items() if not _is_number(scale) or scale < 0}
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
