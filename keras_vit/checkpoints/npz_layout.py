"""Google's ViT `.npz` checkpoints (original vision_transformer and big_vision) in timm's layout.

Original names: `embedding`, `cls`, `Transformer/posembed_input/pos_embedding`,
`Transformer/encoderblock_N/{LayerNorm_0, MultiHeadDotProductAttention_1, LayerNorm_2, MlpBlock_3}`,
`Transformer/encoder_norm`, `head`. big_vision names its block parts `MultiHeadDotProductAttention_0`,
`LayerNorm_1`, `MlpBlock_0`, keeps `pos_embedding` at the top (patch tokens only: its CLS token has
no position), may prefix everything with `params/` (or `params/img/`, `opt/target/`), and may
stack the blocks on a leading axis under `Transformer/encoderblock/` (scanned), and may pool with a
`MAPHead_0` (SigLIP: a `probe` query, attention, `LayerNorm_0`, `MlpBlock_0`; timm's `attn_pool`).
Flax kernels are `(in, out)`; attention kernels split the heads: query `(dim, heads, head_dim)`, out
`(heads, head_dim, dim)`. The pooling follows from the file: the CLS token (`cls`) when there is one,
attention pooling with a `MAPHead_0`, else the mean of the tokens.
"""

import re

import numpy as np

_PREFIXES = ("opt/target/", "params/img/", "params/")
_SCANNED = "Transformer/encoderblock/"
_BLOCK = re.compile(r"^Transformer/encoderblock_(\d+)/")
_TIMM_BLOCK = re.compile(r"^blocks\.(\d+)\.")
_TOP = [
    ("patch_embed.proj.weight", "embedding/kernel", "conv"),
    ("patch_embed.proj.bias", "embedding/bias", "copy"),
    ("cls_token", "cls", "copy"),
    ("pos_embed", "Transformer/posembed_input/pos_embedding", "copy"),
    ("norm.weight", "Transformer/encoder_norm/scale", "copy"),
    ("norm.bias", "Transformer/encoder_norm/bias", "copy"),
    ("head.weight", "head/kernel", "dense"),
    ("head.bias", "head/bias", "copy"),
]


def _block_names(big_vision):
    """(timm suffix, npz suffix, kind) of one block's norms and MLP, and the attention's npz scope."""
    norm2, mlp, attention = (1, 0, 0) if big_vision else (2, 3, 1)
    names = [
        ("norm1.weight", "LayerNorm_0/scale", "copy"),
        ("norm1.bias", "LayerNorm_0/bias", "copy"),
        ("norm2.weight", f"LayerNorm_{norm2}/scale", "copy"),
        ("norm2.bias", f"LayerNorm_{norm2}/bias", "copy"),
    ]
    for index, fc in enumerate(("fc1", "fc2")):
        names.append((f"mlp.{fc}.weight", f"MlpBlock_{mlp}/Dense_{index}/kernel", "dense"))
        names.append((f"mlp.{fc}.bias", f"MlpBlock_{mlp}/Dense_{index}/bias", "copy"))
    return names, f"MultiHeadDotProductAttention_{attention}/"


def _to_timm(array, kind):
    return {"conv": lambda a: a.transpose(3, 2, 0, 1), "dense": lambda a: a.T, "copy": lambda a: a}[kind](array)


def _from_timm(array, kind):
    return {"conv": lambda a: a.transpose(2, 3, 1, 0), "dense": lambda a: a.T, "copy": lambda a: a}[kind](array)


def _block_indices(tensors, pattern):
    return sorted({int(match.group(1)) for match in map(pattern.match, list(tensors)) if match})


def _normalize(tensors):
    """Strip a checkpoint-wide prefix and unstack scanned blocks into `encoderblock_N`."""
    for prefix in _PREFIXES:
        if prefix + "embedding/kernel" in tensors:
            tensors = {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}
            break
    out = {}
    for key, value in tensors.items():
        if key.startswith(_SCANNED):
            for index, layer in enumerate(value):
                out[f"Transformer/encoderblock_{index}/{key[len(_SCANNED):]}"] = layer
        else:
            out[key] = value
    return out


def _attention_to_timm(rest, scope, timm_prefix, groups, fields):
    """The Flax `MultiHeadDotProductAttention` at `scope` in timm's layout under `timm_prefix`, its query, key
    and value fused as `groups` says (`[("qkv", [0, 1, 2])]` for a block, `[("q", [0]), ("kv", [1, 2])]` for
    the MAP head, whose query is the probe's); records `num_heads` from the query kernel."""
    out = {}
    for suffix, timm_suffix in (("kernel", "weight"), ("bias", "bias")):
        keys = [f"{scope}{part}/{suffix}" for part in ("query", "key", "value")]
        if not all(key in rest for key in keys):
            continue  # left under their npz names: reported as unexpected
        arrays = [rest.pop(key) for key in keys]
        if suffix == "kernel":  # (dim, heads, head_dim) -> timm's (out, in)
            fields["num_heads"] = int(arrays[0].shape[1])
            arrays = [array.reshape(array.shape[0], -1).T for array in arrays]
        else:
            arrays = [array.reshape(-1) for array in arrays]
        for name, indices in groups:
            out[f"{timm_prefix}{name}.{timm_suffix}"] = np.concatenate([arrays[index] for index in indices], axis=0)
    if scope + "out/kernel" in rest:
        kernel = rest.pop(scope + "out/kernel")
        out[timm_prefix + "proj.weight"] = kernel.reshape(-1, kernel.shape[-1]).T
    if scope + "out/bias" in rest:
        out[timm_prefix + "proj.bias"] = rest.pop(scope + "out/bias")
    return out


_MAP_HEAD = "MAPHead_0/"


def npz_to_timm(tensors):
    """`(timm tensors, fields)`: fields holds `num_heads`, read from the query kernel's shape, and the
    `pooling` the file's parts imply.

    Keys it does not know keep their npz name (and so show up as unexpected).
    """
    rest = _normalize(tensors)
    big_vision = any(key.startswith("Transformer/encoderblock_") and "/MultiHeadDotProductAttention_0/" in key
                     for key in rest)  # fmt: skip
    out, fields = {}, {}

    def take(npz_key, timm_key, kind):
        if npz_key in rest:
            out[timm_key] = _to_timm(rest.pop(npz_key), kind)

    for timm_key, npz_key, kind in _TOP:
        take(npz_key, timm_key, kind)
    take("pos_embedding", "pos_embed", "copy")  # big_vision
    names, attention = _block_names(big_vision)
    for index in _block_indices(rest, _BLOCK):
        npz_block, timm_block = f"Transformer/encoderblock_{index}/", f"blocks.{index}."
        for timm_key, npz_key, kind in names:
            take(npz_block + npz_key, timm_block + timm_key, kind)
        out.update(_attention_to_timm(rest, npz_block + attention, timm_block + "attn.", [("qkv", [0, 1, 2])], fields))
    if _MAP_HEAD + "probe" in rest:
        take(_MAP_HEAD + "probe", "attn_pool.latent", "copy")
        scope = _MAP_HEAD + "MultiHeadDotProductAttention_0/"
        out.update(_attention_to_timm(rest, scope, "attn_pool.", [("q", [0]), ("kv", [1, 2])], {}))
        take(_MAP_HEAD + "LayerNorm_0/scale", "attn_pool.norm.weight", "copy")
        take(_MAP_HEAD + "LayerNorm_0/bias", "attn_pool.norm.bias", "copy")
        for index, fc in enumerate(("fc1", "fc2")):
            take(f"{_MAP_HEAD}MlpBlock_0/Dense_{index}/kernel", f"attn_pool.mlp.{fc}.weight", "dense")
            take(f"{_MAP_HEAD}MlpBlock_0/Dense_{index}/bias", f"attn_pool.mlp.{fc}.bias", "copy")
    fields["pooling"] = "token" if "cls_token" in out else "map" if "attn_pool.latent" in out else "gap"
    out.update(rest)
    return out, fields


def timm_to_npz(tensors, num_heads):
    """timm tensors to the original ViT npz layout. Raises for tensors that layout has no name for."""
    rest = dict(tensors)
    out = {}

    def give(timm_key, npz_key, kind):
        if timm_key in rest:
            out[npz_key] = _from_timm(rest.pop(timm_key), kind)

    for timm_key, npz_key, kind in _TOP:
        give(timm_key, npz_key, kind)
    names, attention = _block_names(big_vision=False)
    for index in _block_indices(rest, _TIMM_BLOCK):
        npz_block, timm_block = f"Transformer/encoderblock_{index}/", f"blocks.{index}."
        for timm_key, npz_key, kind in names:
            give(timm_block + timm_key, npz_block + npz_key, kind)
        scope = npz_block + attention
        if timm_block + "attn.qkv.weight" in rest:
            kernel = rest.pop(timm_block + "attn.qkv.weight").T  # (dim, 3 * dim)
            dim = kernel.shape[0]
            for part, value in zip(("query", "key", "value"), np.split(kernel, 3, axis=1)):
                out[f"{scope}{part}/kernel"] = value.reshape(dim, num_heads, -1)
        if timm_block + "attn.qkv.bias" in rest:
            for part, value in zip(("query", "key", "value"), np.split(rest.pop(timm_block + "attn.qkv.bias"), 3)):
                out[f"{scope}{part}/bias"] = value.reshape(num_heads, -1)
        if timm_block + "attn.proj.weight" in rest:
            kernel = rest.pop(timm_block + "attn.proj.weight").T  # (dim_in, dim)
            out[scope + "out/kernel"] = kernel.reshape(num_heads, -1, kernel.shape[-1])
        give(timm_block + "attn.proj.bias", scope + "out/bias", "copy")
    if rest:
        raise ValueError(
            f"The npz (Google ViT) layout has no name for these weights: {', '.join(sorted(rest))}. "
            "Save this model with format='timm'."
        )
    return out
