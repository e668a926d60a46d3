"""Held-out splits by index: the validation split of any source, the test split of a flat image folder.

A split is a seeded random choice of example indices (NumPy's `default_rng(seed).permutation`), so it is
disjoint from what is kept and the same for the same seed and the same data, whatever the backend. It is
not stratified: each class's share of a split follows its share of the data on average. Arrays are split by
indexing them; a `tf.data.Dataset` (TF-only by nature) by filtering its enumerated examples.
"""

import numpy as np
import tensorflow as tf

# The test split of a flat image folder is drawn with this seed, not the run's: runs with different seeds
# are then tested on the same images.
TEST_SPLIT_SEED = 0


def split_indices(count, fraction, seed):
    """`(kept, held)`: sorted int arrays that partition `range(count)`; `held` is a seeded random choice of
    `round(count * fraction)` indices, at least one and leaving at least one kept when `fraction` > 0
    (none when it is 0)."""
    if not fraction:
        return np.arange(count), np.arange(0)
    if count < 2:
        raise ValueError(f"Cannot hold out a fraction {fraction:g} of {count} example(s): a split needs at least 2.")
    held = min(count - 1, max(1, round(count * fraction)))
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[held:]), np.sort(order[:held])


def take(dataset, indices, count):
    """The examples of `dataset` (of `count` examples) at `indices`, in their order, with that cardinality.

    A filter: each pass still reads (and decodes) the examples it drops, so the pipeline caches the
    splits when they fit in memory."""
    mask = np.zeros(count, bool)
    mask[indices] = True
    mask = tf.constant(mask)
    chosen = dataset.enumerate().filter(lambda index, example: tf.gather(mask, index))
    return chosen.map(lambda index, example: example).apply(tf.data.experimental.assert_cardinality(len(indices)))
