import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../engine/backend/selection.js';
import { layerNorm, LAYER_NORM_EPSILON } from '../../../engine/ops/layer-norm.js';
import { linear } from '../../../engine/ops/linear.js';
import { SeededRandom } from '../../../engine/random.js';

const backends = ['cpu', 'wasm', ...((await initBackend('tensorflow').then(() => true, () => false)) ? ['tensorflow' as const] : [])] as const;

function fixed(shape: number[], seed: number, scale = 1): tf.Tensor {
  const r = new SeededRandom(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * r.normal()), shape);
}

/** Value and gradients of sum(f(...) * weights) by tfjs autodiff of the plain formula and by the hand-written one. */
async function compare(hand: (...t: tf.Tensor[]) => tf.Tensor, plain: (...t: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): Promise<number> {
  const weights = tf.tidy(() => fixed(hand(...inputs).shape, 99));
  const loss = (f: (...t: tf.Tensor[]) => tf.Tensor) => (...t: tf.Tensor[]) => tf.sum(tf.mul(f(...t), weights));
  const a = tf.grads(loss(hand))(inputs);
  const b = tf.grads(loss(plain))(inputs);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [await a[i]!.data(), await b[i]!.data()];
    const scale = Math.max(1e-6, ...Array.from(y, Math.abs));
    for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j]! - y[j]!) / scale);
  }
  const [va, vb] = [await hand(...inputs).data(), await plain(...inputs).data()];
  va.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - vb[j]!) / Math.max(1, Math.abs(vb[j]!)))));
  tf.dispose([weights, ...a, ...b]);
  return worst;
}

describe('hand-written gradients equal tfjs autodiff of the plain formulas', () => {
  for (const backend of backends) {
    it(`linear (w and tied w^T) on ${backend}`, async () => {
      await initBackend(backend);
      const [x, w, wt, b] = [fixed([5, 4], 1), fixed([4, 3], 2), fixed([3, 4], 3), fixed([3], 4)];
      expect(await compare((x, w, b) => linear(x as tf.Tensor2D, w!, b!), (x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b!), [x, w, b])).toBeLessThan(1e-5);
      expect(await compare((x, w, b) => linear(x as tf.Tensor2D, w!, b!, true), (x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D, false, true), b!), [x, wt, b])).toBeLessThan(1e-5);
      tf.dispose([x, w, wt, b]);
    });

    it(`layer norm on ${backend}, 2-D and 3-D`, async () => {
      await initBackend(backend);
      const plain = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
        const { mean, variance } = tf.moments(x, -1, true);
        return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, LAYER_NORM_EPSILON))), g), b);
      };
      const [g, b] = [fixed([6], 5), fixed([6], 6)];
      for (const shape of [[7, 6], [2, 3, 6]]) {
        const x = tf.add(fixed(shape, 7, 3), 2);
        expect(await compare((x, g, b) => layerNorm(x!, g!, b!), (x, g, b) => plain(x!, g!, b!), [x, g, b])).toBeLessThan(1e-4);
        x.dispose();
      }
      tf.dispose([g, b]);
    });
  }
});
