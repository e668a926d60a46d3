"""timm's `SwinTransformer` and its hybrid ViTs' ResNetV2, written from its source (timm/models/swin_transformer.py,
timm/models/resnetv2.py, timm/layers/std_conv.py, timm/layers/pos_embed_rel.py, timm/layers/interpolate.py), as the
reference for keras_vit's timm layouts: timm itself is not installed beside the torch the tests use."""

import math

import numpy as np
import torch
import torch.nn.functional as F
from timm_reference import timm_forward


def _tensors(state):
    return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in state.items()}


def _window_partition(x, window):
    b, h, w, c = x.shape
    x = x.view(b, h // window[0], window[0], w // window[1], window[1], c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window[0], window[1], c)


def _window_reverse(windows, window, h, w):
    c = windows.shape[-1]
    x = windows.view(-1, h // window[0], w // window[1], window[0], window[1], c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, h, w, c)


def _relative_position_index(wh, ww):
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    relative[:, :, 0] += wh - 1
    relative[:, :, 1] += ww - 1
    relative[:, :, 0] *= 2 * ww - 1
    return relative.sum(-1)


def _attn_mask(h, w, window, shift):
    if not any(shift):
        return None
    h, w = math.ceil(h / window[0]) * window[0], math.ceil(w / window[1]) * window[1]
    img_mask, count = torch.zeros((1, h, w, 1)), 0
    for hs in ((0, -window[0]), (-window[0], -shift[0]), (-shift[0], None)):
        for ws in ((0, -window[1]), (-window[1], -shift[1]), (-shift[1], None)):
            img_mask[:, hs[0]:hs[1], ws[0]:ws[1], :] = count
            count += 1
    windows = _window_partition(img_mask, window).view(-1, window[0] * window[1])
    mask = windows.unsqueeze(1) - windows.unsqueeze(2)
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


def timm_swin_forward(state, images, window_size, eps=1e-5):
    """`SwinTransformer.forward` (strict image size, `always_partition=False`) on a timm state dict (numpy) and
    images `(B, H, W, C)` as the network takes them: logits, or pooled features without `head.fc`."""
    w = _tensors(state)

    def norm(t, name):
        return F.layer_norm(t, (t.shape[-1],), w[name + ".weight"], w[name + ".bias"], eps)

    def linear(t, name):
        return F.linear(t, w[name + ".weight"], w.get(name + ".bias"))

    weight = w["patch_embed.proj.weight"]
    x = F.conv2d(torch.from_numpy(images.transpose(0, 3, 1, 2)), weight, w["patch_embed.proj.bias"], stride=weight.shape[2:])
    x = norm(x.permute(0, 2, 3, 1), "patch_embed.norm")
    stage = 0
    while f"layers.{stage}.blocks.0.norm1.weight" in w:
        if stage:
            b, h, wd, c = x.shape
            x = x.reshape(b, h // 2, 2, wd // 2, 2, c).permute(0, 1, 3, 4, 2, 5).flatten(3)
            x = linear(norm(x, f"layers.{stage}.downsample.norm"), f"layers.{stage}.downsample.reduction")
        index = 0
        while f"layers.{stage}.blocks.{index}.norm1.weight" in w:
            p = f"layers.{stage}.blocks.{index}."
            b, h, wd, c = x.shape
            window = tuple(r if r <= window_size else window_size for r in (h, wd))
            shift = tuple(0 if r <= ws or index % 2 == 0 else window_size // 2 for r, ws in zip((h, wd), window))
            heads = w[p + "attn.relative_position_bias_table"].shape[1]
            shortcut, y = x, norm(x, p + "norm1")
            if any(shift):
                y = torch.roll(y, shifts=(-shift[0], -shift[1]), dims=(1, 2))
            pad_h, pad_w = (window[0] - h % window[0]) % window[0], (window[1] - wd % window[1]) % window[1]
            y = F.pad(y, (0, 0, 0, pad_w, 0, pad_h))
            hp, wp = y.shape[1:3]
            windows = _window_partition(y, window).view(-1, window[0] * window[1], c)
            n = windows.shape[1]
            q, k, v = linear(windows, p + "attn.qkv").reshape(-1, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            attn = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1)
            table = w[p + "attn.relative_position_bias_table"]
            bias = table[_relative_position_index(*window).view(-1)].view(n, n, -1).permute(2, 0, 1)
            attn = attn + bias.unsqueeze(0)
            mask = _attn_mask(h, wd, window, shift)
            if mask is not None:
                attn = attn.view(-1, mask.shape[0], heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
                attn = attn.view(-1, heads, n, n)
            y = (attn.softmax(-1) @ v).transpose(1, 2).reshape(-1, n, c)
            y = linear(y, p + "attn.proj").view(-1, window[0], window[1], c)
            y = _window_reverse(y, window, hp, wp)[:, :h, :wd, :]
            if any(shift):
                y = torch.roll(y, shifts=shift, dims=(1, 2))
            x = shortcut + y
            x = x + linear(F.gelu(linear(norm(x, p + "norm2"), p + "mlp.fc1")), p + "mlp.fc2")
            index += 1
        stage += 1
    x = norm(x, "norm").mean(dim=(1, 2))
    return (linear(x, "head.fc") if "head.fc.weight" in w else x).numpy()


def _std_conv_same(x, weight, stride, eps=1e-8):
    """`StdConv2dSame`: TF SAME padding, then the convolution with the standardized weight."""
    kh, kw = weight.shape[2:]
    ih, iw = x.shape[-2:]
    pad_h = max((math.ceil(ih / stride) - 1) * stride + kh - ih, 0)
    pad_w = max((math.ceil(iw / stride) - 1) * stride + kw - iw, 0)
    x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
    weight = F.batch_norm(weight.reshape(1, weight.shape[0], -1), None, None, training=True, momentum=0.0,
                          eps=eps).reshape_as(weight)  # fmt: skip
    return F.conv2d(x, weight, None, stride)


def timm_hybrid_forward(state, images, num_heads):
    """A hybrid `VisionTransformer` (timm's `HybridEmbed` over `ResNetV2(preact=False, stem_type="same")`): the
    backbone's features, through `patch_embed.proj`, into `timm_forward`'s blocks and head."""
    w = _tensors(state)

    def group_norm(t, name, act=True):
        t = F.group_norm(t, 32, w[name + ".weight"], w[name + ".bias"], 1e-5)
        return F.relu(t) if act else t

    stem = "patch_embed.backbone.stem." if "patch_embed.backbone.stem.conv.weight" in w else "patch_embed.backbone."
    x = torch.from_numpy(images.transpose(0, 3, 1, 2))
    x = group_norm(_std_conv_same(x, w[stem + "conv.weight"], 2), stem + "norm")
    ih, iw = x.shape[-2:]  # MaxPool2dSame: SAME padding with -inf
    pad_h, pad_w = max((math.ceil(ih / 2) - 1) * 2 + 3 - ih, 0), max((math.ceil(iw / 2) - 1) * 2 + 3 - iw, 0)
    x = F.max_pool2d(F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=-float("inf")), 3, 2)
    stage = 0
    while f"patch_embed.backbone.stages.{stage}.blocks.0.conv1.weight" in w:
        index = 0
        while f"patch_embed.backbone.stages.{stage}.blocks.{index}.conv1.weight" in w:
            p = f"patch_embed.backbone.stages.{stage}.blocks.{index}."
            stride = 2 if stage and not index else 1
            shortcut = x
            if p + "downsample.conv.weight" in w:
                shortcut = group_norm(_std_conv_same(x, w[p + "downsample.conv.weight"], stride), p + "downsample.norm", False)
            y = group_norm(_std_conv_same(x, w[p + "conv1.weight"], 1), p + "norm1")
            y = group_norm(_std_conv_same(y, w[p + "conv2.weight"], stride), p + "norm2")
            y = group_norm(_std_conv_same(y, w[p + "conv3.weight"], 1), p + "norm3", False)
            x = F.relu(y + shortcut)
            index += 1
        stage += 1
    features = x.permute(0, 2, 3, 1).numpy()
    rest = {key: value for key, value in state.items() if not key.startswith("patch_embed.backbone.")}
    return timm_forward(rest, features, num_heads)


def timm_resize_rel_pos_bias_table(table, window):
    """timm's `resize_rel_pos_bias_table` without scipy (its default): geometric source offsets and its
    `RegularGridInterpolator` (linear, edges clamped), per head, on a flat `(num_pos, heads)` table."""
    table = torch.from_numpy(table)
    dst = (2 * window[0] - 1, 2 * window[1] - 1)
    src = int(table.shape[0] ** 0.5)

    def calc(src, dst):
        left, right = 1.01, 1.5
        while right - left > 1e-6:
            q = (left + right) / 2.0
            if 1 * (1.0 - q ** (src // 2)) / (1.0 - q) > dst // 2:
                right = q
            else:
                left = q
        dis, cur = [], 1
        for i in range(src // 2):
            dis.append(cur)
            cur += q ** (i + 1)
        return [-d for d in reversed(dis)] + [0] + dis

    points = [torch.tensor(calc(src, dst[0])), torch.tensor(calc(src, dst[1]))]
    targets = torch.meshgrid(torch.arange(-(dst[0] // 2), dst[0] // 2 + 0.1, 1.0),
                             torch.arange(-(dst[1] // 2), dst[1] // 2 + 0.1, 1.0), indexing="ij")  # fmt: skip
    out = []
    for head in range(table.shape[1]):
        values = table[:, head].view(src, src).float()
        idxs, dists, overalls = [], [], []
        for p, x in zip(points, targets):
            idx_right = torch.bucketize(x, p)
            idx_right[idx_right >= p.shape[0]] = p.shape[0] - 1
            idx_left = (idx_right - 1).clamp(0, p.shape[0] - 1)
            dist_left, dist_right = x - p[idx_left], p[idx_right] - x
            dist_left[dist_left < 0] = 0.0
            dist_right[dist_right < 0] = 0.0
            both = (dist_left == 0) & (dist_right == 0)
            dist_left[both] = dist_right[both] = 1.0
            idxs.append((idx_left, idx_right))
            dists.append((dist_left, dist_right))
            overalls.append(dist_left + dist_right)
        numerator = 0.0
        for a in (0, 1):
            for b in (0, 1):
                numerator = numerator + values[idxs[0][a], idxs[1][b]] * dists[0][1 - a] * dists[1][1 - b]
        out.append((numerator / (overalls[0] * overalls[1])).reshape(-1, 1))
    return torch.cat(out, dim=-1).numpy()
