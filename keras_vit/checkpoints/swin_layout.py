"""Swin Transformer checkpoints: the names of timm's `SwinTransformer` for a `SwinTransformer`'s declared parts,
transformers' `SwinModel` / `SwinForImageClassification` names mapped onto them, what the tensors say about the
architecture, and timm's resampling of the relative position bias tables for another window size.

timm: `patch_embed.proj`, `patch_embed.norm`, `layers.{i}.downsample.{norm,reduction}` (from the second stage),
`layers.{i}.blocks.{j}.{norm1, attn.qkv, attn.relative_position_bias_table, attn.proj, norm2, mlp.fc1, mlp.fc2}`,
`norm`, `head.fc`. transformers puts each patch merging at the end of the stage before (`layers.{i-1}.downsample`)
and splits the attention's query, key and value (`q_proj`... in transformers 5, `self.query`... in 4).
"""

import re

import numpy as np

from keras_vit.checkpoints.timm_layout import Entry, _dense, _norm

_BLOCK = re.compile(r"^layers\.(\d+)\.blocks\.(\d+)\.")
TABLE = "attn.relative_position_bias_table"


def is_swin(tensors):
    """Whether timm-layout or transformers-layout `tensors` are a Swin Transformer's."""
    return any(key.endswith("relative_position_bias_table") for key in tensors)


def swin_entries(model):
    """Every variable of the `SwinTransformer` `model` with its timm name."""
    entries = [Entry("patch_embed.proj.weight", model.patch_embed.kernel, "conv"),
               Entry("patch_embed.proj.bias", model.patch_embed.bias)] + _norm("patch_embed.norm.", model.patch_norm)  # fmt: skip
    for stage in range(len(model.config.depths)):
        if stage:
            merge = model.merges[stage - 1]
            entries += _norm(f"layers.{stage}.downsample.norm.", merge.norm)
            entries += _dense(f"layers.{stage}.downsample.reduction.", merge.reduction)
        for index, block in enumerate(model.stage_blocks(stage)):
            prefix = f"layers.{stage}.blocks.{index}."
            entries += _norm(prefix + "norm1.", block.norm1) + _dense(prefix + "attn.qkv.", block.attn.qkv)
            entries.append(Entry(prefix + TABLE, block.attn.relative_position_bias_table))
            entries += _dense(prefix + "attn.proj.", block.attn.proj) + _norm(prefix + "norm2.", block.norm2)
            entries += _dense(prefix + "mlp.fc1.", block.fc1) + _dense(prefix + "mlp.fc2.", block.fc2)
    entries += _norm("norm.", model.norm)
    return entries + (_dense("head.fc.", model.head) if model.head is not None else [])


HEAD_KEYS = ("head.fc.weight", "head.fc.bias")

# transformers 5 and 4 names (after `swin.` and `swin.encoder.`) -> timm's.
_HF_RENAMES = [
    (r"^embeddings\.patch_embeddings\.projection\.", "patch_embed.proj."),
    (r"^embeddings\.norm\.", "patch_embed.norm."),
    (r"^layers\.(\d+)\.blocks\.(\d+)\.layernorm_before\.", r"layers.\1.blocks.\2.norm1."),
    (r"^layers\.(\d+)\.blocks\.(\d+)\.layernorm_after\.", r"layers.\1.blocks.\2.norm2."),
    (r"^layers\.(\d+)\.blocks\.(\d+)\.attention\.(?:o_proj|output\.dense)\.", r"layers.\1.blocks.\2.attn.proj."),
    (r"^layers\.(\d+)\.blocks\.(\d+)\.attention\.(?:relative_position_bias|self)\.relative_position_bias_table$",
     r"layers.\1.blocks.\2." + TABLE),
    (r"^layers\.(\d+)\.blocks\.(\d+)\.(?:mlp\.fc1|intermediate\.dense)\.", r"layers.\1.blocks.\2.mlp.fc1."),
    (r"^layers\.(\d+)\.blocks\.(\d+)\.(?:mlp\.fc2|output\.dense)\.", r"layers.\1.blocks.\2.mlp.fc2."),
    (r"^layernorm\.", "norm."),
    (r"^classifier\.", "head.fc."),
]  # fmt: skip
_HF_QKV = re.compile(r"^layers\.(\d+)\.blocks\.(\d+)\.attention\.(?:self\.)?(q_proj|k_proj|v_proj|query|key|value)\.(weight|bias)$")
_HF_MERGE = re.compile(r"^layers\.(\d+)\.downsample\.(.*)$")
_QKV_ORDER = {"q_proj": 0, "k_proj": 1, "v_proj": 2, "query": 0, "key": 1, "value": 2}
_BUFFERS = ("relative_position_index", "attn_mask")


def is_hf_swin(tensors):
    return any(key.endswith("embeddings.patch_embeddings.projection.weight") for key in tensors) and is_swin(tensors)


def hf_swin_to_timm(tensors):
    """transformers' Swin names to timm's; unknown keys keep their name (and so show up as unexpected)."""
    out, qkv = {}, {}
    for key, value in tensors.items():
        short = re.sub(r"^swin\.", "", key)
        short = re.sub(r"^encoder\.", "", short)
        if short.endswith(_BUFFERS) or short.startswith("pooler."):
            continue
        match = _HF_QKV.match(short)
        if match:
            stage, block, part, kind = match.groups()
            qkv.setdefault((stage, block, kind), {})[_QKV_ORDER[part]] = (key, value)
            continue
        match = _HF_MERGE.match(short)
        if match:
            out[f"layers.{int(match.group(1)) + 1}.downsample.{match.group(2)}"] = value
            continue
        for pattern, replacement in _HF_RENAMES:
            if re.match(pattern, short):
                out[re.sub(pattern, replacement, short)] = value
                break
        else:
            out[key] = value
    for (stage, block, kind), parts in qkv.items():
        if len(parts) == 3:
            out[f"layers.{stage}.blocks.{block}.attn.qkv.{kind}"] = np.concatenate([parts[i][1] for i in range(3)])
        else:
            out.update(dict(parts.values()))
    return out


_HF_DEFAULTS = dict(image_size=224, patch_size=4, num_channels=3, embed_dim=96, depths=[2, 2, 6, 2],
                    num_heads=[3, 6, 12, 24], window_size=7, mlp_ratio=4.0, qkv_bias=True, hidden_act="gelu",
                    layer_norm_eps=1e-5, use_absolute_embeddings=False)  # fmt: skip


def hf_swin_config_fields(config, source):
    """`SwinConfig` fields of a transformers Swin `config.json` dict (its defaults for missing keys)."""
    config = {**_HF_DEFAULTS, **config}
    if config["use_absolute_embeddings"]:
        raise ValueError(f"{source}: use_absolute_embeddings=True is not supported (timm's Swin has none).")
    if config["hidden_act"] != "gelu":
        raise ValueError(f"{source}: hidden_act {config['hidden_act']!r} is not supported; Swin's MLPs use 'gelu'.")
    fields = dict(
        image_size=config["image_size"], patch_size=config["patch_size"], channels=config["num_channels"],
        embed_dim=config["embed_dim"], depths=tuple(config["depths"]), num_heads=tuple(config["num_heads"]),
        window_size=config["window_size"], mlp_ratio=float(config["mlp_ratio"]), qkv_bias=config["qkv_bias"],
        layer_norm_epsilon=config["layer_norm_eps"],
    )  # fmt: skip
    for key in ("image_size", "patch_size"):
        if isinstance(fields[key], list):
            fields[key] = tuple(fields[key])
    return fields


def swin_shape_fields(tensors, source):
    """The `SwinConfig` fields the names and shapes of timm-layout Swin `tensors` determine: all but the image
    size (and regularization). The heads are the bias tables' columns; the window, the first stage's table."""
    weight = tensors.get("patch_embed.proj.weight")
    if weight is None:
        raise ValueError(f"{source} has no 'patch_embed.proj.weight'; keys start: {sorted(tensors)[:8]}.")
    embed_dim, channels, ph, pw = weight.shape
    blocks = {}
    for key in tensors:
        match = _BLOCK.match(key)
        if match:
            blocks.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
    stages = sorted(blocks)
    if not stages or stages != list(range(len(stages))) or any(sorted(b) != list(range(len(b))) for b in blocks.values()):
        raise ValueError(f"{source}: Swin stages and blocks must be numbered from 0; found {blocks}.")
    table = tensors[f"layers.0.blocks.0.{TABLE}"]
    side = (int(round(np.sqrt(table.shape[0]))) + 1) // 2
    return dict(
        patch_size=(ph, pw) if ph != pw else ph, channels=channels, embed_dim=embed_dim,
        depths=tuple(len(blocks[stage]) for stage in stages),
        num_heads=tuple(int(tensors[f"layers.{stage}.blocks.0.{TABLE}"].shape[1]) for stage in stages),
        window_size=side, mlp_ratio=tensors["layers.0.blocks.0.mlp.fc1.weight"].shape[0] / embed_dim,
        qkv_bias="layers.0.blocks.0.attn.qkv.bias" in tensors,
    )  # fmt: skip


def resample_bias_table(table, window):
    """timm's `resize_rel_pos_bias_table` (its default, without scipy): a `((2s-1)^2, heads)` table of a square
    `s x s` window resampled to a `window` `(h, w)` one, per head, by linear interpolation over source offsets
    spaced as a geometric progression (BEiT's recipe; edges clamped), as timm does when a checkpoint's window
    differs from the model's. Identity when the sizes agree."""
    source = int(round(np.sqrt(table.shape[0])))
    target = (2 * window[0] - 1, 2 * window[1] - 1)
    if source * source != table.shape[0]:
        raise ValueError(f"A relative position bias table of {table.shape[0]} rows is not a square window's.")
    if (source, source) == target:
        return table
    ys, xs = _progression(source, target[0]), _progression(source, target[1])
    dy = np.arange(-(target[0] // 2), target[0] // 2 + 0.1, 1.0, dtype="float32")
    dx = np.arange(-(target[1] // 2), target[1] // 2 + 0.1, 1.0, dtype="float32")
    grid_y, grid_x = np.meshgrid(dy, dx, indexing="ij")
    values = table.astype("float32").reshape(source, source, -1)
    (y0, y1, wy0, wy1), (x0, x1, wx0, wx1) = _bracket(ys, grid_y), _bracket(xs, grid_x)
    out = (values[y0, x0] * (wy1 * wx1)[..., None] + values[y0, x1] * (wy1 * wx0)[..., None]
           + values[y1, x0] * (wy0 * wx1)[..., None] + values[y1, x1] * (wy0 * wx0)[..., None])  # fmt: skip
    out /= ((wy0 + wy1) * (wx0 + wx1))[..., None]
    return out.reshape(-1, table.shape[1]).astype(table.dtype)


def _progression(source, target):
    """The source table's offsets, `-d_n..0..d_n`, spaced so that the outermost is at `target // 2`."""
    left, right = 1.01, 1.5
    while right - left > 1e-6:
        q = (left + right) / 2.0
        if (1.0 - q ** (source // 2)) / (1.0 - q) > target // 2:
            right = q
        else:
            left = q
    distances, current = [], 1
    for index in range(source // 2):
        distances.append(current)
        current += q ** (index + 1)
    return np.array([-d for d in reversed(distances)] + [0] + distances, dtype="float32")


def _bracket(points, x):
    """timm's `RegularGridInterpolator` along one axis: the indices left and right of each `x` and the distances
    to them (0 outside the points: the edge value; both 1 on a point)."""
    right = np.minimum(np.searchsorted(points, x, side="left"), len(points) - 1)
    left = np.clip(right - 1, 0, len(points) - 1)
    to_left, to_right = np.maximum(x - points[left], 0), np.maximum(points[right] - x, 0)
    both = (to_left == 0) & (to_right == 0)
    to_left, to_right = np.where(both, 1.0, to_left), np.where(both, 1.0, to_right)
    return left, right, to_left, to_right


def fit_bias_tables(tensors, model):
    """`tensors` with every relative position bias table resampled to the model's window where they differ."""
    tensors = dict(tensors)
    for stage in range(len(model.config.depths)):
        for index, block in enumerate(model.stage_blocks(stage)):
            key = f"layers.{stage}.blocks.{index}.{TABLE}"
            if key in tensors and tuple(tensors[key].shape) != tuple(block.attn.relative_position_bias_table.shape):
                tensors[key] = resample_bias_table(tensors[key], block.attn.window_size)
    return tensors
