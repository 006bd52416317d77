import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../engine/backend/selection.js';
import { convBiasRelu } from '../../../engine/ops/conv-relu.js';
import { fusedConvSupported } from '../../../engine/backend/native-ops.js';
import { SeededRandom } from '../../../engine/random.js';
import { nativeBackend } from '../../support/native.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const native = await nativeBackend();
const status = native && fs.existsSync(path.join(ROOT, '.native/status.json')) ? JSON.parse(fs.readFileSync(path.join(ROOT, '.native/status.json'), 'utf8')) : null;

function fixed(shape: number[], seed: number): number[] {
  const r = new SeededRandom(seed);
  return Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal());
}

/** Output and the gradients (x, w, b) of sum(convBiasRelu(x, w, b) * weights) on a backend. */
async function layer(backend: 'tensorflow' | 'cpu', stride: number, input = false): Promise<Float32Array[]> {
  await initBackend(backend);
  const x = tf.tensor4d(fixed([2, 7, 7, 3], 1), [2, 7, 7, 3]);
  const w = tf.tensor4d(fixed([3, 3, 3, 4], 2), [3, 3, 3, 4]);
  const b = tf.tensor1d(fixed([4], 3));
  const y = convBiasRelu(x, w, b, stride, input);
  const weights = tf.tensor(fixed(y.shape, 4), y.shape);
  const loss = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.sum(tf.mul(convBiasRelu(x as tf.Tensor4D, w, b, stride, input), weights));
  // As data, x gets no gradient: differentiate w.r.t. w and b only.
  const grads = input ? tf.grads((w: tf.Tensor, b: tf.Tensor) => loss(x, w, b))([w, b]) : tf.grads(loss)([x, w, b]);
  const out = await Promise.all([y, ...grads].map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([x, w, b, y, weights, ...grads]);
  return out;
}

describe('conv + bias + ReLU layer', () => {
  it.skipIf(!native)('the fused path is on exactly where the native build added list attributes', () => {
    if (status?.ok) expect(fusedConvSupported()).toBe(status.listAttributes === true);
  });

  for (const [stride, input] of [[1, false], [2, false], [1, true]] as const) {
    it.skipIf(!native)(`native output and gradients equal the tfjs composition on cpu (stride ${stride}${input ? ', x is data' : ''})`, async () => {
      const a = await layer('tensorflow', stride, input);
      const b = await layer('cpu', stride, input);
      expect(a.length).toBe(input ? 3 : 4);
      a.forEach((x, i) => x.forEach((v, j) => expect(Math.abs(v - b[i]![j]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(b[i]![j]!)))));
    });
  }
});
