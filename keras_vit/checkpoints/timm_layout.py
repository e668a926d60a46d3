"""The name mapping between a keras_vit model's variables and timm's `VisionTransformer` state dict.

A `SwinTransformer`'s names are in `swin_layout`; `model_entries` takes either. A model is read by the parts a `VisionTransformer` declares, not by variable paths: its
`patch_encoder` (a hybrid's ResNetV2 `backbone` under timm's `patch_embed.backbone`), `norm_pre`, its `blocks` in order, its `norm`, an attention `pool` (timm's `attn_pool`),
`fc_norm`, `head` and `head_dist` (a DeiT's second head). timm stores Linear weights `(out, in)` and
Conv2d weights `(out, in, kh, kw)`; Keras stores `(in, out)` and `(kh, kw, in, out)`.
"""

import dataclasses

import keras
import numpy as np

from keras_vit.layers import AttentionPooling
from keras_vit.models.vit import check_vision_transformer



@dataclasses.dataclass
class Entry:
    """One model variable and its timm name. `kind` says how the arrays differ:
    "copy" (same layout), "dense" (transposed), "conv" (HWIO <-> OIHW), "patch_dense" (a linear patch
    projection `(ph*pw*C, dim)` <-> timm's conv weight), "patch_positions" (a fixed sincos table of the
    patch tokens <-> timm's `pos_embed`, which also has zero rows for the prefix tokens)."""

    key: str
    variable: object
    kind: str = "copy"
    extra: tuple = ()  # patch size (ph, pw) for "patch_dense"; number of prefix tokens for "patch_positions"

    def timm_shape(self):
        shape = tuple(self.variable.shape)
        if self.kind == "dense":
            return shape[::-1]
        if self.kind == "conv":
            return (shape[3], shape[2], shape[0], shape[1])
        if self.kind == "patch_dense":
            ph, pw = self.extra
            return (shape[1], shape[0] // (ph * pw), ph, pw)
        if self.kind == "patch_positions":
            return (1, self.extra + shape[1], shape[2])
        return shape

    def to_timm(self, array):
        if self.kind == "dense":
            return array.T
        if self.kind == "conv":
            return array.transpose(3, 2, 0, 1)
        if self.kind == "patch_dense":
            return array.reshape(*self.extra, -1, array.shape[-1]).transpose(3, 2, 0, 1)
        if self.kind == "patch_positions":
            return np.concatenate([np.zeros((1, self.extra, array.shape[2]), array.dtype), array], axis=1)
        return array

    def from_timm(self, array):
        if self.kind == "dense":
            return array.T
        if self.kind == "conv":
            return array.transpose(2, 3, 1, 0)
        if self.kind == "patch_dense":
            return array.transpose(2, 3, 1, 0).reshape(-1, array.shape[0])
        if self.kind == "patch_positions":
            if np.any(array[:, : self.extra]):
                raise ValueError(
                    f"{self.key}: the checkpoint gives the prefix tokens positions, which a model with fixed "
                    "sincos2d position embeddings cannot hold; build it with position_embedding='learned'."
                )
            return array[:, self.extra:]
        return array


def _dense(prefix, layer):
    entries = [Entry(prefix + "weight", layer.kernel, "dense")]
    if layer.use_bias:
        entries.append(Entry(prefix + "bias", layer.bias))
    return entries


def _norm(prefix, layer):
    entries = [Entry(prefix + "weight", layer.gamma)] if layer.scale else []
    return entries + ([Entry(prefix + "bias", layer.beta)] if layer.center else [])


def _patch_encoder_entries(encoder):
    projection = encoder.projection
    if encoder.patch_embedding == "conv_stem":
        raise ValueError(
            "patch_embedding='conv_stem' has no timm, Hugging Face or big_vision counterpart; "
            "save such a model with model.save(...) (.keras) instead."
        )
    if encoder.patch_embedding in ("conv", "resnetv2"):
        entries = [Entry("patch_embed.proj.weight", projection.kernel, "conv")]
        if encoder.patch_embedding == "resnetv2":
            entries += _backbone_entries(encoder.backbone)
    else:
        entries = [Entry("patch_embed.proj.weight", projection.kernel, "patch_dense", encoder.patch_size)]
    if encoder.use_bias:
        entries.append(Entry("patch_embed.proj.bias", projection.bias))
    if encoder.class_token:
        entries.append(Entry("cls_token", encoder.cls_token))
    if encoder.distillation_token:
        entries.append(Entry("dist_token", encoder.dist_token))
    if encoder.reg_tokens:
        entries.append(Entry("reg_token", encoder.reg_token))
    if encoder.position_embedding == "learned":
        entries.append(Entry("pos_embed", encoder.position_embeddings))
    elif encoder.position_embedding == "sincos2d":
        entries.append(Entry("pos_embed", encoder.position_embeddings, "patch_positions", encoder.num_prefix_tokens))
    return entries


def _group_norm(prefix, layer):
    return [Entry(prefix + "weight", layer.gamma), Entry(prefix + "bias", layer.beta)]


def _backbone_entries(backbone):
    """timm's ResNetV2 under `patch_embed.backbone.`: `stem.conv`, `stem.norm`, `stages.{i}.blocks.{j}.*`; the stem
    alone (`layers=()`, timm's bare stem `nn.Sequential`) is `conv`, `norm`."""
    prefix = "patch_embed.backbone." + ("stem." if backbone.layers_per_stage else "")
    entries = [Entry(prefix + "conv.weight", backbone.stem_conv.kernel, "conv")] + _group_norm(prefix + "norm.", backbone.stem_norm)
    for stage, blocks in enumerate(backbone.stages()):
        for index, block in enumerate(blocks):
            name = f"patch_embed.backbone.stages.{stage}.blocks.{index}."
            if block.project:
                entries.append(Entry(name + "downsample.conv.weight", block.downsample_conv.kernel, "conv"))
                entries += _group_norm(name + "downsample.norm.", block.downsample_norm)
            for number, (conv, norm) in enumerate(zip(block.convs, block.norms), start=1):
                entries.append(Entry(f"{name}conv{number}.weight", conv.kernel, "conv"))
                entries += _group_norm(f"{name}norm{number}.", norm)
    return entries


def _block_entries(index, block):
    prefix = f"blocks.{index}."
    attn = block.attn
    entries = _norm(prefix + "norm1.", block.norm1) + _dense(prefix + "attn.qkv.", attn.qkv)
    if attn.qk_norm:
        entries += _norm(prefix + "attn.q_norm.", attn.q_norm) + _norm(prefix + "attn.k_norm.", attn.k_norm)
    entries += _dense(prefix + "attn.proj.", attn.proj) + _norm(prefix + "norm2.", block.norm2)
    entries += _dense(prefix + "mlp.fc1.", block.fc1) + _dense(prefix + "mlp.fc2.", block.fc2)
    if block.init_values is not None:
        entries += [Entry(prefix + "ls1.gamma", block.ls1.gamma), Entry(prefix + "ls2.gamma", block.ls2.gamma)]
    return entries


def _attention_pool_entries(pool):
    """timm's `AttentionPoolLatent`: `latent`, `q`, `kv`, `proj`, `norm`, `mlp.fc1`, `mlp.fc2`."""
    entries = [Entry("attn_pool.latent", pool.latent)]
    for name in ("q", "kv", "proj"):
        entries += _dense(f"attn_pool.{name}.", getattr(pool, name))
    entries += _norm("attn_pool.norm.", pool.norm)
    return entries + _dense("attn_pool.mlp.fc1.", pool.fc1) + _dense("attn_pool.mlp.fc2.", pool.fc2)


def model_entries(model):
    """Every variable of the `VisionTransformer` or `SwinTransformer` `model` with its timm name."""
    from keras_vit.checkpoints.swin_layout import swin_entries
    from keras_vit.models.swin import SwinTransformer

    if isinstance(model, SwinTransformer):
        return swin_entries(model)
    check_vision_transformer(model, "A timm-layout checkpoint")
    entries = _patch_encoder_entries(model.patch_encoder)
    if model.norm_pre is not None:
        entries += _norm("norm_pre.", model.norm_pre)
    for index, block in enumerate(model.blocks):
        entries += _block_entries(index, block)
    if model.norm is not None:
        entries += _norm("norm.", model.norm)
    if isinstance(model.pool, AttentionPooling):
        entries += _attention_pool_entries(model.pool)
    if model.fc_norm is not None:
        entries += _norm("fc_norm.", model.fc_norm)
    for key, head in zip(("head.", "head_dist."), model.heads):
        entries += _dense(key, head)
    return entries


def model_to_timm(model):
    """`{timm name: numpy array}` of all of `model`'s weights."""
    return {
        entry.key: entry.to_timm(keras.ops.convert_to_numpy(entry.variable)) for entry in model_entries(model)
    }


def mismatch_report(entries, tensors, source):
    """An error message listing missing, unexpected and wrongly shaped tensors, or None if all fit."""
    expected = {entry.key: entry.timm_shape() for entry in entries}
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [
        f"{key} (checkpoint {tuple(tensors[key].shape)}, model {expected[key]})"
        for key in sorted(set(expected) & set(tensors))
        if tuple(tensors[key].shape) != expected[key]
    ]
    if not (missing or unexpected or wrong):
        return None
    lines = [f"{source} does not fit the model (names in timm's layout):"]
    for title, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if names:
            lines.append(f"  {title} ({len(names)}): {', '.join(names)}")
    return "\n".join(lines)


def assign(entries, tensors, source):
    """Set every entry's variable from the timm-layout `tensors`; check everything before assigning."""
    report = mismatch_report(entries, tensors, source)
    if report:
        raise ValueError(report)
    values = [entry.from_timm(tensors[entry.key]) for entry in entries]
    for entry, value in zip(entries, values):
        entry.variable.assign(value.astype(entry.variable.dtype))
