"""timm's `VisionTransformer`, written from its source (timm/models/vision_transformer.py, timm/layers/
attention_pool.py), as the reference for keras_vit's timm layout: timm itself is not installed beside the
torch the tests use. `timm_forward` is its forward pass on a state dict; `timm_state_shapes` the state
dict its constructor declares, which `load_state_dict(strict=True)` demands key for key."""

import numpy as np
import torch
import torch.nn.functional as F

ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "quick_gelu": lambda t: t * torch.sigmoid(1.702 * t),
}


def timm_forward(state, images, num_heads, pooling="token", eps=1e-6, activation="gelu"):
    """`VisionTransformer.forward` on a timm state dict (numpy) and images `(B, H, W, C)` as the network takes
    them: logits, or the pooled features of a state dict without a head. `pooling` is timm's `global_pool`
    ("token" or "avg"; an `attn_pool` in the state dict is "map"); `no_embed_class`, register tokens,
    `norm_pre`, `fc_norm` and LayerScale follow from the state dict's keys and shapes."""
    w = {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in state.items()}
    act = ACTIVATIONS[activation]
    weight = w["patch_embed.proj.weight"]
    x = F.conv2d(torch.from_numpy(images.transpose(0, 3, 1, 2)), weight, w.get("patch_embed.proj.bias"),
                 stride=weight.shape[2:])  # fmt: skip
    x = x.flatten(2).transpose(1, 2)
    batch = x.shape[0]
    prefix = [w[key].expand(batch, -1, -1) for key in ("cls_token", "dist_token", "reg_token") if key in w]
    num_prefix = sum(token.shape[1] for token in prefix)
    if "pos_embed" in w and w["pos_embed"].shape[1] == x.shape[1]:  # no_embed_class: add, then concatenate
        x = torch.cat(prefix + [x + w["pos_embed"]], dim=1)
    else:
        x = torch.cat(prefix + [x], dim=1) + w.get("pos_embed", 0.0)
    batch, tokens, dim = x.shape

    def norm(t, name):
        return F.layer_norm(t, (t.shape[-1],), w[name + ".weight"], w[name + ".bias"], eps)

    def linear(t, name):
        return F.linear(t, w[name + ".weight"], w.get(name + ".bias"))

    if "norm_pre.weight" in w:
        x = norm(x, "norm_pre")
    index = 0
    while f"blocks.{index}.norm1.weight" in w:
        b = f"blocks.{index}."
        qkv = linear(norm(x, b + "norm1"), b + "attn.qkv")
        q, k, v = qkv.reshape(batch, tokens, 3, num_heads, -1).permute(2, 0, 3, 1, 4)
        if b + "attn.q_norm.weight" in w:
            q, k = norm(q, b + "attn.q_norm"), norm(k, b + "attn.k_norm")
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, tokens, dim)
        x = x + linear(attended, b + "attn.proj") * w.get(b + "ls1.gamma", 1.0)
        hidden = act(linear(norm(x, b + "norm2"), b + "mlp.fc1"))
        x = x + linear(hidden, b + "mlp.fc2") * w.get(b + "ls2.gamma", 1.0)
        index += 1
    if "norm.weight" in w:
        x = norm(x, "norm")
    if "attn_pool.latent" in w:  # AttentionPoolLatent on the patch tokens (pool_include_prefix=False)
        x = x[:, num_prefix:]
        q = linear(w["attn_pool.latent"].expand(batch, -1, -1), "attn_pool.q")
        q = q.reshape(batch, 1, num_heads, -1).transpose(1, 2)
        k, v = linear(x, "attn_pool.kv").reshape(batch, x.shape[1], 2, num_heads, -1).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, 1, dim)
        x = linear(x, "attn_pool.proj")
        x = x + linear(act(linear(norm(x, "attn_pool.norm"), "attn_pool.mlp.fc1")), "attn_pool.mlp.fc2")
        x = x[:, 0]
    elif pooling == "token":
        x = x[:, 0]
    else:
        x = x[:, num_prefix:].mean(1)
    if "fc_norm.weight" in w:
        x = norm(x, "fc_norm")
    return (linear(x, "head") if "head.weight" in w else x).numpy()


def timm_state_shapes(*, dim, depth, mlp_dim, patch_size, grid, channels=3, num_classes=0, class_token=True,
                      reg_tokens=0, no_embed_class=False, pre_norm=False, init_values=None, global_pool="token",
                      fc_norm=None):  # fmt: skip
    """`{name: shape}` of the state dict of timm's `VisionTransformer(...)` with these arguments (its
    `__init__`: `patch_embed` with `bias=not pre_norm`, `cls_token`, `reg_token`, `pos_embed` of
    `num_patches` rows with `no_embed_class` else `num_patches + num_prefix_tokens`, `norm_pre`, the blocks
    with `ls1` / `ls2` when `init_values`, `norm` unless `fc_norm` is used (None: for `global_pool="avg"`),
    `attn_pool` for "map", `fc_norm`, `head`)."""
    patches = grid[0] * grid[1]
    prefix = int(class_token) + reg_tokens
    use_fc_norm = global_pool == "avg" if fc_norm is None else fc_norm
    shapes = {"patch_embed.proj.weight": (dim, channels, patch_size, patch_size)}
    if not pre_norm:
        shapes["patch_embed.proj.bias"] = (dim,)
    if class_token:
        shapes["cls_token"] = (1, 1, dim)
    if reg_tokens:
        shapes["reg_token"] = (1, reg_tokens, dim)
    shapes["pos_embed"] = (1, patches + (0 if no_embed_class else prefix), dim)

    def norm(name):
        shapes.update({f"{name}.weight": (dim,), f"{name}.bias": (dim,)})

    def linear(name, out, inputs):
        shapes.update({f"{name}.weight": (out, inputs), f"{name}.bias": (out,)})

    if pre_norm:
        norm("norm_pre")
    for index in range(depth):
        b = f"blocks.{index}."
        norm(b + "norm1")
        linear(b + "attn.qkv", 3 * dim, dim)
        linear(b + "attn.proj", dim, dim)
        norm(b + "norm2")
        linear(b + "mlp.fc1", mlp_dim, dim)
        linear(b + "mlp.fc2", dim, mlp_dim)
        if init_values:
            shapes.update({b + "ls1.gamma": (dim,), b + "ls2.gamma": (dim,)})
    if not use_fc_norm:
        norm("norm")
    if global_pool == "map":
        shapes["attn_pool.latent"] = (1, 1, dim)
        linear("attn_pool.q", dim, dim)
        linear("attn_pool.kv", 2 * dim, dim)
        linear("attn_pool.proj", dim, dim)
        norm("attn_pool.norm")
        linear("attn_pool.mlp.fc1", mlp_dim, dim)
        linear("attn_pool.mlp.fc2", dim, mlp_dim)
    if use_fc_norm:
        norm("fc_norm")
    if num_classes:
        linear("head", num_classes, dim)
    return shapes
