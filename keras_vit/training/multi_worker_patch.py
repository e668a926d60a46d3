"""A workaround for Keras 3 `fit` under tf.distribute's MultiWorkerMirroredStrategy."""


def patch_keras_for_multi_worker():
    """Work around keras-team/keras#20585: Keras 3's TF trainer fails in `fit` under
    MultiWorkerMirroredStrategy, at two places this patches (TF-only by nature):

    - before training it averages a first input batch across workers with an eager `reduce`
      that TF cannot do on `PerReplica` values, only to learn the batch's shapes: here it gets
      this worker's own part of the batch instead;
    - after each step it averages the (scalar) metric results across workers with
      `reduce("MEAN", axis=0)`, which is invalid for scalars: here with `axis=None`.

    The multi-worker test (two workers on 127.0.0.1) fails if either patch stops working.
    """
    import tensorflow as tf
    from keras import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    if getattr(tf_trainer, "_keras_vit_multi_worker_patch", False):
        return
    reduce_per_replica = tf_trainer.reduce_per_replica

    def reduce_scalars_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return reduce_per_replica(values, strategy, reduction)

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = next(batches)
                break
        strategy = self.distribute_strategy
        local = tree.map_structure(
            lambda v: strategy.experimental_local_results(v)[0] if isinstance(v, tf.distribute.DistributedValues) else v,
            data_batch,
        )
        with strategy.scope():
            self._symbolic_build(data_batch=local)

    tf_trainer.reduce_per_replica = reduce_scalars_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    tf_trainer._keras_vit_multi_worker_patch = True
