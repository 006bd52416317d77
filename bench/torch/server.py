"""PyTorch side of `npm run bench`: a line-protocol worker driven by bench/torch-side.ts.

Why a long-lived worker: the bench times each row in rounds that alternate a block of our iterations
with a block of PyTorch's on the same workload, so both see the same machine load (the machine may be
shared); the worker keeps the row's model and inputs between rounds, and importing torch once keeps
all this cheap. Protocol: one JSON object per line on stdin, one JSON reply per line on stdout.
  {"op": "hello", "threads": T}                 -> {"ok": true, "torch": ..., "numpy": ..., "threads": T, "interop": ...}
  {"op": "build", "name": N, "config": {...}, "warmup": W}
                                                -> {"ok": true, "name": N, "params": P}   (builds the row, runs W untimed steps)
  {"op": "time", "iters": I}                    -> {"ok": true, "samplesMs": [...]}       (I timed steps of the built row)
  {"op": "dispose"}                             -> {"ok": true}                            (drops the built row)
One row is built at a time; "build" replaces the previous one.
Errors reply {"ok": false, "error": "..."}; the worker keeps serving.
Every workload is float32 and has the shapes and batch sizes that the TypeScript side sends.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

from models import Classifier, MaskedImageConv, MaskedImageEncoder, MaskedTokenTransformer, count_trainable


def _adam(module):
    return torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=1e-3, betas=(0.9, 0.999), eps=1e-8)


def _patch_keep(batch, side, patch, ratio):
    grid = -(-side // patch)
    keep = (torch.rand(batch, 1, grid, grid) >= ratio).float()
    return keep.repeat_interleave(patch, 2).repeat_interleave(patch, 3)[:, :, :side, :side].contiguous()


def image_train(c):
    model = MaskedImageConv(c["height"], c["channels"], c["depth"], c["featureDim"])
    opt = _adam(model)
    B, H = c["batch"], c["height"]
    clean = torch.rand(B, 1, H, H)
    keep = _patch_keep(B, H, c["patch"], c["maskRatio"])
    noise = torch.randn(B, 1, H, H) * c["sigma"]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model.reconstruction_loss(clean, keep, noise).mean()
        loss.backward()
        opt.step()

    return step, count_trainable(model)


def mlm_train(c):
    V, L, B, M = c["vocabSize"], c["seqLen"], c["batch"], c["maskedPerSequence"]
    model = MaskedTokenTransformer(V, L, c["width"], c["depth"], c["heads"], c["padId"])
    opt = _adam(model)
    tokens = torch.randint(2, V, (B, L))
    cols = torch.stack([torch.randperm(L)[:M] for _ in range(B)])
    owner = torch.arange(B).repeat_interleave(M)
    positions = owner * L + cols.flatten()
    targets = tokens.flatten()[positions].clone()
    masked = tokens.clone().flatten()
    masked[positions] = c["maskId"]
    masked = masked.view(B, L)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model.masked_token_loss(masked, positions, targets, owner, B).mean()
        loss.backward()
        opt.step()

    return step, count_trainable(model)


def _classifier(c):
    enc = MaskedImageEncoder(c["height"], c["channels"], c["depth"], c["featureDim"])
    return Classifier(enc, c["featureDim"], c["numClasses"])


def classifier_train(c):
    model = _classifier(c)
    opt = _adam(model)
    B, H = c["batch"], c["height"]
    x = torch.rand(B, 1, H, H)
    y = torch.randint(0, c["numClasses"], (B,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return step, count_trainable(model)


def certify(c):
    """One batch of noisy forward passes as randomized smoothing does it: noise, logits, argmax, counts to host."""
    model = _classifier(c).eval()
    H, N, C, sigma = c["height"], c["batch"], c["numClasses"], c["sigma"]
    x = torch.rand(1, 1, H, H)

    def step():
        with torch.inference_mode():
            noise = torch.randn(N, 1, H, H) * sigma
            counts = torch.bincount(model(x + noise).argmax(1), minlength=C)
            counts.tolist()

    return step, count_trainable(model)


def matmul(c):
    n = c["n"]
    a, b = torch.randn(n, n), torch.randn(n, n)

    def step():
        torch.mm(a, b)

    return step, 0


WORKLOADS = {"image-train": image_train, "mlm-train": mlm_train, "classifier-train": classifier_train, "certify": certify, "matmul": matmul}


def build(msg):
    """The row's step, built with seed 0 and warmed up."""
    torch.manual_seed(0)
    step, params = WORKLOADS[msg["config"]["kind"]](msg["config"])
    for _ in range(msg["warmup"]):
        step()
    return step, params


def time_steps(step, iters):
    samples = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main():
    step = None  # the built row's step, kept between its rounds
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            if msg["op"] == "hello":
                torch.set_num_threads(msg["threads"])
                import numpy

                reply = {"ok": True, "torch": torch.__version__, "numpy": numpy.__version__, "threads": torch.get_num_threads(), "interop": torch.get_num_interop_threads()}
            elif msg["op"] == "build":
                step = None  # a failed build leaves no row behind
                step, params = build(msg)
                reply = {"ok": True, "name": msg["name"], "params": params}
            elif msg["op"] == "time":
                if step is None:
                    raise RuntimeError("no row built")
                reply = {"ok": True, "samplesMs": time_steps(step, msg["iters"])}
            elif msg["op"] == "dispose":
                step = None  # a failed build leaves no row behind
                reply = {"ok": True}
            else:
                reply = {"ok": False, "error": f"unknown op {msg['op']}"}
        except Exception as e:  # reported to the TypeScript side, which prints it beside the row
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
