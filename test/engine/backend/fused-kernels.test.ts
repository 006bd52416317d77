import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../engine/backend/selection.js';
import { selfAttention } from '../../../engine/ops/attention.js';
import { attentionKernel, convToOneKernel, crossEntropyKernel, embedKernel, fusedKernelsAvailable, setFusedKernels } from '../../../engine/backend/fused-kernels.js';
import { convToOne } from '../../../engine/ops/conv-to-one.js';
import { resizeNearest } from '../../../engine/ops/resize-nearest.js';
import { gelu } from '../../../engine/ops/gelu.js';
import { layerNorm } from '../../../engine/ops/layer-norm.js';
import { SeededRandom } from '../../../engine/random.js';
import { embedTokens } from '../../../engine/ops/token-embedding.js';
import { sparseSoftmaxCrossEntropy } from '../../../engine/ops/sparse-cross-entropy.js';
import { fusedKernels, nativeBackend } from '../../support/native.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const native = await nativeBackend();
const status = native && fs.existsSync(path.join(ROOT, '.native/status.json')) ? JSON.parse(fs.readFileSync(path.join(ROOT, '.native/status.json'), 'utf8')) : null;
const kernels = await fusedKernels();

function fixed(shape: number[], seed: number, scale = 1): tf.Tensor {
  const r = new SeededRandom(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * r.normal()), shape);
}

/** Value and input gradients of sum(f(inputs) * weights), with our kernels on or off. */
async function run(f: (...t: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], fused: boolean, differentiable = inputs.length): Promise<Float32Array[]> {
  const previous = setFusedKernels(fused);
  try {
    const y = f(...inputs);
    const weights = fixed(y.shape, 99);
    const grads = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(f(...t, ...inputs.slice(differentiable)), weights)))(inputs.slice(0, differentiable));
    const out = await Promise.all([y, ...grads].map((t) => t.data() as Promise<Float32Array>));
    tf.dispose([y, weights, ...grads]);
    return out;
  } finally {
    setFusedKernels(previous);
  }
}

/** Largest difference between the fused and the composed results, relative to each result's largest magnitude. */
async function fusedAgainstComposed(f: (...t: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], differentiable?: number): Promise<number> {
  const a = await run(f, inputs, true, differentiable);
  const b = await run(f, inputs, false, differentiable);
  let worst = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    const scale = Math.max(1e-6, ...Array.from(y, Math.abs));
    for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j]! - y[j]!) / scale);
  });
  return worst;
}

describe("robustlab's fused kernels (native backend)", () => {
  it.skipIf(!native)('are registered exactly where the native build compiled them in', () => {
    if (status?.ok) expect(kernels).toBe(status.fusedKernels === true);
  });

  it.skipIf(!kernels)('layer norm: values and gradients equal the composition (2-D, 3-D, an odd width)', async () => {
    // [1000, 64]: four blocks of rows, split over threads, whose gain and bias gradients are summed.
    for (const shape of [[64, 64], [3, 5, 48], [9, 37], [1000, 64]]) {
      const d = shape[shape.length - 1]!;
      const x = tf.add(fixed(shape, 1, 3), 2);
      const [g, b] = [fixed([d], 2), fixed([d], 3)];
      expect(await fusedAgainstComposed((x, g, b) => layerNorm(x!, g!, b!), [x, g, b])).toBeLessThan(2e-5);
      tf.dispose([x, g, b]);
    }
  });

  it.skipIf(!kernels)('GELU: values and gradients equal the composition, also where exp would overflow', async () => {
    // 100,007 values: split over threads where there are two or more.
    const x = tf.concat([fixed([100000], 4, 3), tf.tensor1d([-200, -90, -50, 0, 50, 90, 200])]);
    expect(await fusedAgainstComposed((x) => gelu(x!), [x])).toBeLessThan(2e-6);
    x.dispose();
  });

  it.skipIf(!kernels)('cross-entropy: loss and gradient equal the composition on a wide vocabulary with spread logits', async () => {
    const logits = fixed([40, 3001], 5, 20);
    const targets = tf.tensor1d(Array.from({ length: 40 }, (_, i) => (i * 977) % 3001), 'int32');
    expect(await fusedAgainstComposed((z, t) => sparseSoftmaxCrossEntropy(z as tf.Tensor2D, t as tf.Tensor1D), [logits, targets], 1)).toBeLessThan(2e-5);
    tf.dispose([logits, targets]);
  });

  it.skipIf(!kernels)('cross-entropy with a bias: loss and the gradients of logits and bias equal the composition (rows in several bias-sum blocks)', async () => {
    const logits = fixed([100, 501], 11, 5);
    const bias = fixed([501], 12, 5);
    const targets = tf.tensor1d(Array.from({ length: 100 }, (_, i) => (i * 37) % 501), 'int32');
    const f = (z?: tf.Tensor, b?: tf.Tensor, t?: tf.Tensor): tf.Tensor => sparseSoftmaxCrossEntropy(z as tf.Tensor2D, t as tf.Tensor1D, b as tf.Tensor1D);
    expect(await fusedAgainstComposed(f, [logits, bias, targets], 2)).toBeLessThan(2e-5);
    // A bias of the wrong size is a one-line error.
    const short = tf.zeros([500]);
    expect(() => crossEntropyKernel(logits, targets, short)).toThrow(/logits must be \[n, c\] with c > 0, labels \[n\] and bias \[c\]/);
    tf.dispose([logits, bias, targets, short]);
  });

  it.skipIf(!kernels)('attention: values and q|k|v gradients equal the composition, with padding, for 1, 2 and 4 heads', async () => {
    const [B, L, d] = [3, 7, 16];
    const qkv = fixed([B * L, 3 * d], 7, 2);
    // Sequence b has its last b keys padded.
    const mask = tf.tensor2d(Array.from({ length: B * L }, (_, i) => (i % L >= L - Math.floor(i / L) ? -1e9 : 0)), [B, L]);
    for (const heads of [1, 2, 4]) {
      expect(await fusedAgainstComposed((x, m) => selfAttention(x as tf.Tensor2D, m as tf.Tensor2D, heads), [qkv, mask], 1)).toBeLessThan(2e-5);
    }
    tf.dispose([qkv, mask]);
  });

  it.skipIf(!kernels)('attention: sequences long enough for the blocked products, with partial blocks of rows and columns', async () => {
    // L = 37: two whole blocks of 16 columns and 5 more, nine blocks of 4 rows and 1 more; head size 24: one block and 8.
    const [B, L, d] = [2, 37, 48];
    const qkv = fixed([B * L, 3 * d], 10, 2);
    const mask = tf.tensor2d(Array.from({ length: B * L }, (_, i) => (i % L >= L - 3 * Math.floor(i / L) ? -1e9 : 0)), [B, L]);
    expect(await fusedAgainstComposed((x, m) => selfAttention(x as tf.Tensor2D, m as tf.Tensor2D, 2), [qkv, mask], 1)).toBeLessThan(2e-5);
    tf.dispose([qkv, mask]);
  });

  it.skipIf(!kernels)('attention: q|k|v whose width is not 3 x heads x head size is a one-line error', () => {
    const qkv = tf.zeros([6, 10]);
    const mask = tf.zeros([2, 3]);
    expect(() => attentionKernel(qkv, mask, 2)).toThrow(/qkv must be \[B\*L, 3d\] with d divisible by heads/);
    tf.dispose([qkv, mask]);
  });

  it.skipIf(!kernels)('3x3 convolution to one channel: values and x, w, b gradients equal the composition (odd sizes; images in several blocks)', async () => {
    // Channels: fewer than 8, 8 and 4 more, four blocks of 8; one image of one row.
    for (const shape of [[3, 9, 7, 5], [2, 6, 5, 12], [1, 1, 4, 3], [10, 14, 14, 32]]) {
      const x = fixed(shape, 13);
      const [w, b] = [fixed([3, 3, shape[3]!, 1], 14, 0.3), fixed([1], 15)];
      expect(await fusedAgainstComposed((x, w, b) => convToOne(x as tf.Tensor4D, w!, b!), [x, w, b])).toBeLessThan(2e-5);
      tf.dispose([x, w, b]);
    }
  });

  it.skipIf(!kernels)('3x3 convolution to one channel: weights of another shape are a one-line error', () => {
    const [x, w, b] = [tf.zeros([1, 4, 4, 3]), tf.zeros([3, 3, 2, 1]), tf.zeros([1])];
    expect(() => convToOneKernel(x, w, b)).toThrow(/x must be \[B, H, W, C\] and w \[3, 3, C, 1\]/);
    tf.dispose([x, w, b]);
  });

  it.skipIf(!kernels)('nearest-neighbour resizing: values and gradients equal tfjs resizeNearestNeighbor (2x, 7 -> 14, 4 -> 7, shrinking 9 x 6 -> 4 x 5)', async () => {
    for (const [from, to] of [[[14, 14], [28, 28]], [[7, 7], [14, 14]], [[4, 4], [7, 7]], [[9, 6], [4, 5]]] as const) {
      const x = fixed([3, from[0], from[1], 5], 16);
      expect(await fusedAgainstComposed((x) => resizeNearest(x as tf.Tensor4D, to), [x])).toBe(0);
      x.dispose();
    }
  });

  it.skipIf(!kernels)('token + position embedding: values and table gradients equal the composition (repeated ids, L < P)', async () => {
    const ids = tf.tensor2d(Array.from({ length: 4 * 6 }, (_, i) => (i * 7) % 11), [4, 6], 'int32');
    const [table, positions] = [fixed([11, 8], 8), fixed([9, 8], 9)];
    expect(await fusedAgainstComposed((t, p, i) => embedTokens(i as tf.Tensor2D, t as tf.Tensor2D, p as tf.Tensor2D), [table, positions, ids], 2)).toBeLessThan(1e-6);
    tf.dispose([ids, table, positions]);
  });

  it.skipIf(!kernels)('token embedding: an id outside the vocabulary is a one-line error naming it', () => {
    const ids = tf.tensor2d([[1, 11]], [1, 2], 'int32');
    const [table, positions] = [tf.zeros([11, 4]), tf.zeros([2, 4])];
    expect(() => embedKernel(ids, table, positions)).toThrow(/token id 11 is outside the vocabulary \[0, 11\)/);
    tf.dispose([ids, table, positions]);
  });

  it.skipIf(!kernels)('cross-entropy: a label outside the vocabulary is a one-line error naming it', () => {
    const logits = tf.zeros([2, 5]);
    const targets = tf.tensor1d([1, 5], 'int32');
    const bias = tf.zeros([5]);
    expect(() => crossEntropyKernel(logits, targets, bias)).toThrow(/label 5 at row 1 is outside \[0, 5\)/);
    tf.dispose([logits, targets, bias]);
  });

  it.skipIf(!kernels)('leave no tensors behind through forward and backward', () => {
    const x = fixed([8, 16], 6);
    const [g, b] = [tf.ones([16]), tf.zeros([16])];
    const t = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const before = tf.memory().numTensors;
    const grads = tf.grads((x: tf.Tensor) => tf.sum(sparseSoftmaxCrossEntropy(gelu(layerNorm(x, g, b)) as tf.Tensor2D, t)))([x]);
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, g, b, t]);
  });
});
