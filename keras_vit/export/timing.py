import time

import numpy as np


def latencies_ms(predict, sample, runs=20, warmup=3):
    """Wall time in milliseconds of each of `runs` calls `predict(sample)`, after `warmup` calls."""
    for _ in range(warmup):
        predict(sample)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        predict(sample)
        times.append((time.perf_counter() - start) * 1e3)
    return np.array(times)


def median_latency_ms(predict, sample, runs=20, warmup=3):
    return float(np.median(latencies_ms(predict, sample, runs, warmup)))
