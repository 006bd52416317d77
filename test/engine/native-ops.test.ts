import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../engine/backend.js';
import { sparseSoftmaxCrossEntropy } from '../../engine/native-ops.js';
import { SeededRandom } from '../../engine/random.js';

const native = await initBackend('tensorflow').then(
  () => true,
  () => false,
);

function fixed(shape: number[], seed: number): number[] {
  const r = new SeededRandom(seed);
  return Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 3 * r.normal());
}

/** Loss and gradients of a small graph using both native-only ops, on the given backend. */
async function lossAndGrads(backend: 'tensorflow' | 'cpu'): Promise<Float32Array[]> {
  await initBackend(backend);
  const logits = tf.tensor2d(fixed([6, 11], 1), [6, 11]);
  const w = tf.tensor2d(fixed([11, 11], 2), [11, 11]);
  const targets = tf.tensor1d([0, 3, 10, 3, 7, 1], 'int32');
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(sparseSoftmaxCrossEntropy(tf.relu(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D)) as tf.Tensor2D, targets));
  const value = f(logits, w);
  const grads = tf.grads(f)([logits, w]);
  const out = await Promise.all([value, ...grads].map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([logits, w, targets, value, ...grads]);
  return out;
}

describe('native ops', () => {
  it.skipIf(!native)('fused sparse cross-entropy and ReluGrad on TensorFlow equal the tfjs formulas on cpu', async () => {
    const a = await lossAndGrads('tensorflow');
    const b = await lossAndGrads('cpu');
    a.forEach((x, i) => x.forEach((v, j) => expect(v).toBeCloseTo(b[i]![j]!, 4)));
  });
});
