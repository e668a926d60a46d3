import numpy as np


def sincos_2d(grid_size, dim, temperature=10_000.0):
    """Fixed 2-D sine-cosine position embeddings, as big_vision's `posemb_sincos_2d`.

    Returns a float32 array `(grid_h * grid_w, dim)`: for each patch (row-major), the
    `dim // 4` frequencies of its column as sin then cos, then of its row as sin then cos.
    """
    if dim % 4:
        raise ValueError(f"sincos2d position embeddings need dim divisible by 4; got dim={dim}.")
    rows, cols = np.mgrid[: grid_size[0], : grid_size[1]]
    quarter = dim // 4
    omega = 1.0 / temperature ** (np.arange(quarter) / max(quarter - 1, 1))
    x = cols.reshape(-1, 1) * omega
    y = rows.reshape(-1, 1) * omega
    return np.concatenate([np.sin(x), np.cos(x), np.sin(y), np.cos(y)], axis=1).astype("float32")
