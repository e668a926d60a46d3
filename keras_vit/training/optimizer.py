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
class PerUpdate(keras.optimizers.schedules.LearningRateSchedule):
    """`schedule` read at the optimizer's update count, `step // grad_accum_steps`.

    Keras reads a schedule at `optimizer._iterations`, which with `gradient_accumulation_steps` counts
    batches, the accumulating ones too; so a schedule counted in updates (`schedule_steps`) is read here at
    the update each batch belongs to, and k accumulated batches step at the rate one k times larger would.
    """

    def __init__(self, schedule, grad_accum_steps):
        self.schedule = schedule
        self.grad_accum_steps = grad_accum_steps

    def __call__(self, step):
        return self.schedule(keras.ops.floor_divide(step, self.grad_accum_steps))

    def get_config(self):
        schedule = keras.saving.serialize_keras_object(self.schedule)
        return {"schedule": schedule, "grad_accum_steps": self.grad_accum_steps}

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config["schedule"]), config["grad_accum_steps"])


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
    peak_lr, total_steps, warmup_steps, weight_decay=0.05, clipnorm=1.0, *, no_weight_decay=(), multipliers=None,
    ema=False, grad_accum_steps=1,
):  # fmt: skip
    """`AdamW` (Keras', see above) driven by `warmup_cosine`, with gradients clipped to global norm
    `clipnorm` (None: off) and no weight decay on the variables `no_weight_decay` lists (a model's
    `no_weight_decay()`: biases, norms, LayerScale, position embeddings, prefix tokens). With
    `multipliers` (`{variable path: float}`, from `layer_decay_multipliers`), a `LayerDecayAdamW`
    scaling each variable's learning rate. `ema`: Keras' `use_ema` (an exponential moving average of
    the weights, momentum 0.99, put into the model when `fit` ends); `grad_accum_steps` k > 1: Keras'
    `gradient_accumulation_steps` (one update every k batches on their mean gradient; `total_steps` and
    `warmup_steps` then count updates, see `schedule_steps`, and `PerUpdate` reads the schedule so).

    The exclusions are given as a variable list, not as `var_names` patterns: Keras matches
    those against `variable.name`, which on TensorFlow is the tf.Variable's name
    ("bias:0"), not the Keras one ("bias").
    """
    schedule = warmup_cosine(peak_lr, total_steps, warmup_steps)
    arguments = dict(
        learning_rate=schedule if grad_accum_steps == 1 else PerUpdate(schedule, grad_accum_steps),
        weight_decay=weight_decay,
        global_clipnorm=clipnorm,
        use_ema=ema,
        gradient_accumulation_steps=grad_accum_steps if grad_accum_steps > 1 else None,  # Keras wants None or >= 2
    )
    if multipliers is None:
        optimizer = AdamW(**arguments)
    else:
        from keras_vit.training.layer_decay import LayerDecayAdamW  # which imports AdamW from here

        optimizer = LayerDecayAdamW(multipliers, **arguments)
    optimizer.exclude_from_weight_decay(var_list=list(no_weight_decay))
    return optimizer


def schedule_steps(epochs, steps_per_epoch, warmup_epochs, grad_accum_steps=1):
    """`(total_steps, warmup_steps)` of the optimizer for a run of `epochs` epochs of `steps_per_epoch`
    batches, counted in updates, one every `grad_accum_steps` batches (read so by `PerUpdate`)."""
    updates_per_epoch = steps_per_epoch / grad_accum_steps
    total_steps = epochs * steps_per_epoch // grad_accum_steps
    warmup_steps = min(math.ceil(warmup_epochs * updates_per_epoch), total_steps - 1)
    return total_steps, warmup_steps
