"""PyTorch mirrors of robustlab's models, layer by layer, for the side-by-side benchmark.

Each module has exactly the parameters of its TypeScript counterpart (same shapes, same count; the
bench asserts the counts are equal) and does the same arithmetic in float32:
- MaskedImageConv  <-> engine/models/masked-image-conv.ts
- MaskedTokenTransformer <-> engine/models/masked-token-transformer.ts
- Classifier (encoder + standardised linear head) <-> engine/finetune/classifier.ts
Layout is each library's native one (NCHW here, NHWC in TensorFlow); the FLOPs are identical.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def _block_channels(channels: int, i: int) -> int:
    return channels * 2 ** max(0, i - 1)


class MaskedImageEncoder(nn.Module):
    """conv3x3(1->w) relu, `depth` stride-2 conv3x3 blocks relu, flatten, dense -> featureDim relu."""

    def __init__(self, height: int, channels: int, depth: int, feature_dim: int):
        super().__init__()
        self.conv0 = nn.Conv2d(1, channels, 3, padding=1)
        blocks, side = [], height
        for i in range(1, depth + 1):
            cin = channels if i == 1 else _block_channels(channels, i - 1)
            blocks.append(nn.Conv2d(cin, _block_channels(channels, i), 3, stride=2, padding=1))
            side = math.ceil(side / 2)
        self.blocks = nn.ModuleList(blocks)
        self.last_side = side
        self.last_channels = channels if depth == 0 else _block_channels(channels, depth)
        self.fc = nn.Linear(side * side * self.last_channels, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv0(x))
        for conv in self.blocks:
            h = F.relu(conv(h))
        return F.relu(self.fc(h.flatten(1)))


class MaskedImageConv(nn.Module):
    """Encoder + decoder (dense, then per block nearest upsampling + conv3x3 relu, conv3x3 -> 1, sigmoid)."""

    def __init__(self, height: int, channels: int, depth: int, feature_dim: int):
        super().__init__()
        self.encoder = MaskedImageEncoder(height, channels, depth, feature_dim)
        e = self.encoder
        self.sizes = [height]
        for _ in range(depth):
            self.sizes.append(math.ceil(self.sizes[-1] / 2))
        self.dec_fc = nn.Linear(feature_dim, e.last_side * e.last_side * e.last_channels)
        self.dec_blocks = nn.ModuleList(
            nn.Conv2d(_block_channels(channels, i), channels if i == 1 else _block_channels(channels, i - 1), 3, padding=1)
            for i in range(depth, 0, -1)
        )
        self.dec_out = nn.Conv2d(channels, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.encoder
        z = e(x)
        h = F.relu(self.dec_fc(z)).view(-1, e.last_channels, e.last_side, e.last_side)
        for j, conv in enumerate(self.dec_blocks):
            s = self.sizes[len(self.dec_blocks) - 1 - j]
            h = F.relu(conv(F.interpolate(h, size=(s, s), mode="nearest")))
        return torch.sigmoid(self.dec_out(h))

    def reconstruction_loss(self, clean: torch.Tensor, keep: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Per-example MSE [B] of the reconstruction of the masked, noised input against the clean image."""
        recon = self(clean * keep + noise * keep)
        return ((recon - clean) ** 2).mean(dim=(1, 2, 3))


class MaskedTokenTransformer(nn.Module):
    """Pre-LN transformer encoder with token + position embeddings and tied-embedding MLM logits."""

    def __init__(self, vocab: int, seq_len: int, width: int, depth: int, heads: int, pad_id: int):
        super().__init__()
        self.heads, self.pad_id, self.width = heads, pad_id, width
        self.tok = nn.Parameter(torch.randn(vocab, width) * 0.02)
        self.pos = nn.Parameter(torch.randn(seq_len, width) * 0.02)
        self.layers = nn.ModuleList()
        for _ in range(depth):
            self.layers.append(
                nn.ModuleDict(
                    dict(
                        ln1=nn.LayerNorm(width, eps=1e-5),
                        qkv=nn.Linear(width, 3 * width),
                        proj=nn.Linear(width, width),
                        ln2=nn.LayerNorm(width, eps=1e-5),
                        mlp1=nn.Linear(width, 4 * width),
                        mlp2=nn.Linear(4 * width, width),
                    )
                )
            )
        self.lnf = nn.LayerNorm(width, eps=1e-5)
        self.mlm_bias = nn.Parameter(torch.zeros(vocab))

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        B, L = tokens.shape
        d, H = self.width, self.heads
        hd = d // H
        h = self.tok[tokens] + self.pos[:L]
        key_mask = ((tokens == self.pad_id).float() * -1e9).view(B, 1, 1, L)
        for blk in self.layers:
            a = blk["ln1"](h)
            q, k, v = (t.view(B, L, H, hd).transpose(1, 2) for t in blk["qkv"](a).split(d, dim=-1))
            scores = (q @ k.transpose(-1, -2)) * (1 / math.sqrt(hd)) + key_mask
            att = torch.softmax(scores, dim=-1) @ v
            h = h + blk["proj"](att.transpose(1, 2).reshape(B, L, d))
            m = blk["mlp1"](blk["ln2"](h))
            h = h + blk["mlp2"](m * torch.sigmoid(1.702 * m))
        return self.lnf(h)

    def masked_token_loss(self, tokens, positions, targets, owner, batch: int) -> torch.Tensor:
        """Per-example mean cross-entropy [B] over that example's masked positions."""
        h = self.encode(tokens).reshape(-1, self.width)
        logits = h[positions] @ self.tok.t() + self.mlm_bias
        nll = F.cross_entropy(logits, targets, reduction="none")
        per_example = torch.zeros(batch).index_add_(0, owner, nll)
        counts = torch.zeros(batch).index_add_(0, owner, torch.ones_like(nll))
        return per_example / counts.clamp(min=1)


class Classifier(nn.Module):
    """Encoder + linear head on standardised features (mean/std are buffers, not trained)."""

    def __init__(self, encoder: nn.Module, feature_dim: int, num_classes: int):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(feature_dim, num_classes)
        self.register_buffer("mean", torch.zeros(feature_dim))
        self.register_buffer("std", torch.ones(feature_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head((self.encoder(x) - self.mean) / self.std)


def count_trainable(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
