import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../engine/backend/selection.js';
import { SeededRandom } from '../../../engine/random.js';
import { sparseSoftmaxCrossEntropy } from '../../../engine/ops/sparse-cross-entropy.js';

const backends = ['cpu', 'wasm', ...((await initBackend('tensorflow').then(() => true, () => false)) ? ['tensorflow' as const] : [])] as const;

const M = 7;
const V = 13;
const r = new SeededRandom(5);
// Large logits (spread 40) check the max-shift; the row weights make each row's gradient differ.
const logits = Array.from({ length: M * V }, () => 40 * r.normal());
const targets = [0, 12, 5, 5, 1, 7, 12];
const weights = Array.from({ length: M }, (_, i) => (i + 1) / M);

const bias = Array.from({ length: V }, () => 10 * r.normal());

/** Float64 reference: loss per row and d(sum_i w_i loss_i)/d logits, of logits + bias when `withBias`. */
function reference(withBias = false): { loss: number[]; grad: number[] } {
  const loss: number[] = [];
  const grad: number[] = [];
  for (let i = 0; i < M; i++) {
    const row = logits.slice(i * V, (i + 1) * V).map((z, j) => z + (withBias ? bias[j]! : 0));
    const max = Math.max(...row);
    const total = row.reduce((s, z) => s + Math.exp(z - max), 0);
    loss.push(Math.log(total) - (row[targets[i]!]! - max));
    row.forEach((z, j) => grad.push(weights[i]! * (Math.exp(z - max) / total - (j === targets[i] ? 1 : 0))));
  }
  return { loss, grad };
}

describe('sparse softmax cross-entropy', () => {
  for (const backend of backends) {
    it(`loss and gradient equal a float64 reference on ${backend}`, async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const z = tf.tensor2d(logits, [M, V]);
      const t = tf.tensor1d(targets, 'int32');
      const w = tf.tensor1d(weights);
      const loss = sparseSoftmaxCrossEntropy(z, t);
      const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(sparseSoftmaxCrossEntropy(x as tf.Tensor2D, t), w)))(z);
      const ref = reference();
      Array.from(await loss.data()).forEach((v, i) => expect(Math.abs(v - ref.loss[i]!)).toBeLessThan(1e-4 * Math.max(1, ref.loss[i]!)));
      Array.from(await grad.data()).forEach((v, i) => expect(Math.abs(v - ref.grad[i]!)).toBeLessThan(1e-6));
      tf.dispose([z, t, w, loss, grad]);
      expect(tf.memory().numTensors).toBe(before);
    });

    it(`with a bias: loss and the gradients of logits and bias equal a float64 reference on ${backend}`, async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const [z, b] = [tf.tensor2d(logits, [M, V]), tf.tensor1d(bias)];
      const t = tf.tensor1d(targets, 'int32');
      const w = tf.tensor1d(weights);
      const loss = sparseSoftmaxCrossEntropy(z, t, b);
      const [dz, db] = tf.grads((x: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(sparseSoftmaxCrossEntropy(x as tf.Tensor2D, t, c as tf.Tensor1D), w)))([z, b]);
      const ref = reference(true);
      Array.from(await loss.data()).forEach((v, i) => expect(Math.abs(v - ref.loss[i]!)).toBeLessThan(1e-4 * Math.max(1, ref.loss[i]!)));
      Array.from(await dz!.data()).forEach((v, i) => expect(Math.abs(v - ref.grad[i]!)).toBeLessThan(1e-6));
      const refBias = Array.from({ length: V }, (_, j) => ref.grad.reduce((s, g, k) => (k % V === j ? s + g : s), 0));
      Array.from(await db!.data()).forEach((v, j) => expect(Math.abs(v - refBias[j]!)).toBeLessThan(1e-5));
      tf.dispose([z, b, t, w, loss, dz!, db!]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
