"""The Hessian's eigenvalues, trace and eigenvalue density, from Hessian-vector products alone.

For any Keras classifier on any backend ("How do Vision Transformers work?", Park & Kim, ICLR 2022,
measure these for PyTorch models with PyHessian, Yao et al. 2020). `H` is the Hessian of the mean loss
over `(images, labels)` with respect to the trainable weights, the model in inference mode (see
`keras_vit.inspect.objective`); it is never formed: each method multiplies vectors by it
(`keras_vit.inspect.hessian`), one product costing a small multiple of a gradient. The linear algebra runs in float64
numpy whatever the model's precision.
"""

import numpy as np

from keras_vit.checks import check_choice, check_number_in, check_positive_int, check_positive_number
from keras_vit.inspect.hessian import HessianOperator
from keras_vit.inspect.objective import Objective

# Gaussians of the smoothed density lie this many widths inside the grid's ends, so it integrates to 1.
GRID_MARGIN = 6.0


def hessian_operator(model, images, labels, batch_size=None, dtype="float32"):
    """The `HessianOperator` of `model`'s mean loss on `(images, labels)` (see `Objective` for the arguments)."""
    return HessianOperator(Objective(model, images, labels, batch_size=batch_size, dtype=dtype))


WHICH = {"largest": "LA", "magnitude": "LM"}
# ARPACK's restarts before giving up (each makes up to 2 * top_k + 1 products, at least 20).
MAX_RESTARTS = 300


def top_eigenpairs(operator, top_k, which="largest", tol=1e-5, seed=0):
    """The `top_k` largest eigenvalues of a symmetric `operator` (`size`, `matvec`), largest first, and
    their unit eigenvectors `(top_k, size)`. `which="largest"`: the algebraically largest;
    `"magnitude"`: the largest in absolute value (sorted by it), negative ones included.

    ARPACK's implicitly restarted Lanczos method (`scipy.sparse.linalg.eigsh`) rather than PyHessian's
    power iteration with deflation, which finds the same eigenvalues as `"magnitude"` but converges
    slowly when two are close. `tol` is ARPACK's relative accuracy of the eigenvalues (float32 products
    are accurate to about 1e-6 of the largest), reached within `MAX_RESTARTS` restarts or an error.
    """
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    check_positive_int(top_k, "top_k")
    check_choice(which, "which", tuple(WHICH))
    if top_k >= operator.size:
        raise ValueError(f"top_k must be below the number of trainable weights ({operator.size}); got {top_k}.")
    linear = LinearOperator((operator.size, operator.size), matvec=operator.matvec, dtype="float64")
    start = np.random.default_rng(seed).standard_normal(operator.size)
    try:
        values, vectors = eigsh(linear, k=top_k, which=WHICH[which], v0=start, tol=tol, maxiter=MAX_RESTARTS)
    except ArpackNoConvergence as error:
        raise RuntimeError(
            f"The top {top_k} Hessian eigenvalues did not converge to tol={tol} ({len(error.eigenvalues)} did): "
            "raise tol (float32 products are accurate to about 1e-6 of the largest eigenvalue)."
        ) from None
    order = np.argsort(values if which == "largest" else np.abs(values))[::-1]
    return values[order], vectors[:, order].T


def hessian_eigenvalues(model, images, labels, top_k=1, *, which="largest", return_eigenvectors=False,
                        batch_size=None, dtype="float32", tol=1e-5, seed=0):  # fmt: skip
    """The `top_k` largest eigenvalues of the loss Hessian, largest first: `(top_k,)` float64.

    Args:
        model: a Keras classifier (logits out); its compiled loss, or cross-entropy when it has none.
        images: `(B, H, W, C)` as the model takes them (raw pixels for keras_vit models).
        labels: `(B,)` class indices or `(B, num_classes)` one-hot rows.
        top_k: how many eigenvalues.
        which: "largest" (algebraically), or "magnitude": the largest in absolute value, as PyHessian's
            power iteration finds them (a non-convex loss can have a negative one among them).
        return_eigenvectors: also return the unit eigenvectors, `(top_k, num_weights)`, each the
            model's `trainable_variables` flattened and concatenated in order.
        batch_size: examples per product (None: all); the Hessian is that of all examples regardless.
        dtype: "float32", or "float64" on TensorFlow.
        tol: relative accuracy of the eigenvalues.
        seed: seeds the start vector.
    """
    operator = hessian_operator(model, images, labels, batch_size, dtype)
    values, vectors = top_eigenpairs(operator, top_k, which, tol, seed)
    return (values, vectors) if return_eigenvectors else values


def hessian_max_eigenvalue_spectrum(model, images, labels, *, batch_size, top_k=5, which="magnitude",
                                    dtype="float32", tol=1e-4, seed=0):  # fmt: skip
    """Park & Kim's "Hessian max eigenvalue spectrum": the `top_k` eigenvalues (by default the largest in
    magnitude, as PyHessian's power iteration gives them) of the Hessian of each mini-batch of
    `batch_size` examples, the last, smaller batch included: `(num_batches, top_k)` float64, each row in
    `hessian_eigenvalues`' order. Its histogram shows how sharp the loss is and how that varies across
    batches; negative values among them mark a non-convex loss, which the paper finds in ViTs."""
    operator = hessian_operator(model, images, labels, check_positive_int(batch_size, "batch_size"), dtype)
    return batch_spectrum(operator, top_k, which, tol, seed)


def batch_spectrum(operator, top_k=5, which="magnitude", tol=1e-4, seed=0):
    """`hessian_max_eigenvalue_spectrum` of a `HessianOperator`: one row per batch of its objective."""
    return np.stack([top_eigenpairs(batch, top_k, which, tol, seed)[0] for batch in operator.per_batch()])


def hessian_trace(model, images, labels, *, max_samples=100, min_samples=10, rtol=1e-2, batch_size=None,
                  dtype="float32", seed=0):  # fmt: skip
    """Hutchinson's estimate of the Hessian's trace, the sum of its eigenvalues.

    Each sample is `v . H v` for a vector `v` of random signs (Rademacher), whose expectation is
    `trace(H)`. Samples are drawn until the standard error of their mean falls below
    `rtol * |mean|` (after at least `min_samples`) or `max_samples` are drawn.

    Returns a dict: `trace`, the mean of the samples; `error`, its standard error (the sample standard
    deviation over the square root of the sample count: the estimate lies within 2 errors of the trace
    about 95% of the time, within 3 about 99.7%); `samples`, every sample.
    """
    operator = hessian_operator(model, images, labels, batch_size, dtype)
    return hutchinson(operator, max_samples, min_samples, rtol, seed)


def hutchinson(operator, max_samples=100, min_samples=10, rtol=1e-2, seed=0):
    """`hessian_trace` of a `HessianOperator`."""
    check_positive_int(min_samples, "min_samples")
    if check_positive_int(max_samples, "max_samples") < max(min_samples, 2):
        raise ValueError(f"max_samples must be at least min_samples and 2; got {max_samples} with min_samples "
                         f"{min_samples}.")
    check_positive_number(rtol, "rtol")
    rng = np.random.default_rng(seed)
    samples = []
    while len(samples) < max_samples:
        signs = rng.choice([-1.0, 1.0], size=operator.size)
        samples.append(float(signs @ operator.matvec(signs)))
        error = np.std(samples, ddof=1) / np.sqrt(len(samples)) if len(samples) > 1 else np.inf
        if len(samples) >= min_samples and error <= rtol * abs(np.mean(samples)):
            break
    return {"trace": float(np.mean(samples)), "error": float(error), "samples": np.array(samples)}


def lanczos(operator, start, steps):
    """`steps` Lanczos iterations of the symmetric `operator` from `start`: the tridiagonal matrix's
    `(alpha, beta)`, `alpha` `(m,)` and `beta` `(m - 1,)`, `m <= steps` (fewer when the Krylov space is
    exhausted). Each new vector is orthogonalized against all earlier ones, twice ("twice is enough",
    Parlett): float32 products would otherwise lose the basis' orthogonality within a few dozen steps.
    Keeps the basis, `steps * num_weights` float64 numbers."""
    basis = np.empty((steps, operator.size))
    vector = start / np.linalg.norm(start)
    alpha, beta = [], []
    for step in range(steps):
        basis[step] = vector
        product = operator.matvec(vector)
        alpha.append(float(vector @ product))
        for _ in range(2):
            product -= basis[: step + 1].T @ (basis[: step + 1] @ product)
        norm = float(np.linalg.norm(product))
        if step == steps - 1 or norm <= 1e-10 * max(abs(a) for a in alpha):
            break
        beta.append(norm)
        vector = product / norm
    return np.array(alpha), np.array(beta)


def hessian_density(model, images, labels, *, steps=64, vectors=1, points=2000, sigma=None, zero_tolerance=1e-3,
                    batch_size=None, dtype="float32", seed=0):  # fmt: skip
    """The Hessian's eigenvalue density by stochastic Lanczos quadrature (Ghorbani et al. 2019; PyHessian).

    For each of `vectors` random-sign start vectors, `steps` Lanczos iterations give a tridiagonal
    matrix whose eigenvalues (`nodes`) and squared first eigenvector components (`weights`, summing to
    1) form a quadrature of the spectrum: `sum(weights * f(nodes))` estimates `trace(f(H)) / n`.
    The measure, averaged over the vectors, is smoothed with Gaussians of width `sigma` (default 1% of
    the nodes' range) on `points` grid points reaching `6 * sigma` past the extreme nodes.

    Returns a dict: `grid` and `density` `(points,)` (the density integrates to 1 over the grid);
    `nodes` and `weights` `(vectors, steps)` (zero weights pad a run that ended early); `negative_share`,
    the estimated share of the eigenvalues below `-zero_tolerance * max |eigenvalue|` (the weight of
    those nodes: a trained network's Hessian has a bulk of eigenvalues at 0 whose signs float32 products
    cannot tell); `trace`, the quadrature's estimate of the trace (`n * sum(weights * nodes)`).
    """
    operator = hessian_operator(model, images, labels, batch_size, dtype)
    return lanczos_density(operator, steps, vectors, points, sigma, zero_tolerance, seed)


def lanczos_density(operator, steps=64, vectors=1, points=2000, sigma=None, zero_tolerance=1e-3, seed=0):
    """`hessian_density` of a `HessianOperator`."""
    check_positive_int(steps, "steps")
    check_positive_int(vectors, "vectors")
    if check_positive_int(points, "points") < 2:
        raise ValueError(f"points must be at least 2; got {points}.")
    if sigma is not None:
        check_positive_number(sigma, "sigma")
    check_number_in(zero_tolerance, "zero_tolerance", 0.0, 1.0, high_open=True)
    rng = np.random.default_rng(seed)
    steps = min(steps, operator.size)
    nodes = np.zeros((vectors, steps))
    weights = np.zeros((vectors, steps))  # zero-padded where a run stopped early
    for run in range(vectors):
        alpha, beta = lanczos(operator, rng.choice([-1.0, 1.0], size=operator.size), steps)
        tridiagonal = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
        values, eigenvectors = np.linalg.eigh(tridiagonal)
        nodes[run, : len(values)] = values
        weights[run, : len(values)] = eigenvectors[0] ** 2
    weights /= vectors
    used = weights > 0
    low, high = nodes[used].min(), nodes[used].max()
    width = sigma or max(0.01 * (high - low), 1e-12 * max(abs(low), abs(high), 1.0))
    grid = np.linspace(low - GRID_MARGIN * width, high + GRID_MARGIN * width, points)
    gaussians = np.exp(-0.5 * ((grid[:, None] - nodes[used][None, :]) / width) ** 2) / (width * np.sqrt(2 * np.pi))
    return {
        "grid": grid,
        "density": gaussians @ weights[used],
        "nodes": nodes,
        "weights": weights * vectors,
        "negative_share": float(weights[used & (nodes < -zero_tolerance * np.abs(nodes).max())].sum()),
        "trace": float(operator.size * (weights * nodes).sum()),
    }
