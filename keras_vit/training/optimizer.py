"""AdamW with a linear warm-up + cosine-decay schedule, as in the DeiT recipe."""

import math

import keras

def peak_learning_rate(base_learning_rate, global_batch_size, base_batch_size=512):
    """The linear scaling rule: `base_learning_rate * global_batch_size / base_batch_size`."""
    return base_learning_rate * global_batch_size / base_batch_size


def warmup_cosine(peak_lr, total_steps, warmup_steps):
    """Learning rate rising linearly from 0 to `peak_lr` over `warmup_steps`, then following a
    half cosine down to 0 at `total_steps` (and staying there)."""
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"Need 0 <= warmup_steps < total_steps; got warmup_steps={warmup_steps}, "
                         f"total_steps={total_steps}.")
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=total_steps - warmup_steps,
        warmup_target=peak_lr,
        warmup_steps=warmup_steps,
    )


@keras.saving.register_keras_serializable(package="keras_vit")
class AdamW(keras.optimizers.AdamW):
    """Keras' AdamW, with `global_clipnorm` taken over the whole gradient under tf.distribute.

    On TensorFlow, Keras clips each replica's share of the gradient and only then sums the
    shares (`_clip_gradients` runs before the all-reduce in `_backend_update_step`), so with
    more than one replica the clip threshold would act on partial gradients and training would
    change with the replica count. Here each share is scaled by the factor that clips the
    summed gradient; the sum Keras then takes is the clipped global gradient. (JAX's
    `DataParallel` computes the global gradient in one program; torch runs on one device.)
    """

    def _clip_gradients(self, grads):
        if self.global_clipnorm and keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            context = tf.distribute.get_replica_context()
            if context is not None and context.num_replicas_in_sync > 1:
                norm = tf.linalg.global_norm(context.all_reduce(tf.distribute.ReduceOp.SUM, grads))
                scale = self.global_clipnorm / tf.maximum(norm, self.global_clipnorm)
                return [g * tf.cast(scale, g.dtype) for g in grads]
        return super()._clip_gradients(grads)


def build_optimizer(
    peak_lr, total_steps, warmup_steps, weight_decay=0.05, clipnorm=1.0, *, no_weight_decay=(), multipliers=None
):
    """`AdamW` (Keras', see above) driven by `warmup_cosine`, with gradients clipped to global norm
    `clipnorm` (None: off) and no weight decay on the variables `no_weight_decay` lists (a model's
    `no_weight_decay()`: biases, norms, LayerScale, position embeddings, prefix tokens). With
    `multipliers` (`{variable path: float}`, from `layer_decay_multipliers`), a `LayerDecayAdamW`
    scaling each variable's learning rate.

    The exclusions are given as a variable list, not as `var_names` patterns: Keras matches
    those against `variable.name`, which on TensorFlow is the tf.Variable's name
    ("bias:0"), not the Keras one ("bias").
    """
    arguments = dict(
        learning_rate=warmup_cosine(peak_lr, total_steps, warmup_steps),
        weight_decay=weight_decay,
        global_clipnorm=clipnorm,
    )
    if multipliers is None:
        optimizer = AdamW(**arguments)
    else:
        from keras_vit.training.layer_decay import LayerDecayAdamW  # which imports AdamW from here

        optimizer = LayerDecayAdamW(multipliers, **arguments)
    optimizer.exclude_from_weight_decay(var_list=list(no_weight_decay))
    return optimizer


def schedule_steps(epochs, steps_per_epoch, warmup_epochs):
    """`(total_steps, warmup_steps)` for a run of `epochs` epochs of `steps_per_epoch` steps."""
    total_steps = epochs * steps_per_epoch
    warmup_steps = min(math.ceil(warmup_epochs * steps_per_epoch), total_steps - 1)
    return total_steps, warmup_steps
