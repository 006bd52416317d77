import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../../engine/backend/selection.js';
import { fusedMatMulSupported, matMul2d, matMulBias, NativeVariable, registerNativeGradients } from '../../../engine/backend/native-ops.js';
import { SeededRandom } from '../../../engine/random.js';
import { nativeBackend } from '../../support/native.js';

const native = await nativeBackend();

function fixed(shape: number[], seed: number): number[] {
  const r = new SeededRandom(seed);
  return Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 3 * r.normal());
}

/** Loss and gradients of a small ReLU graph on the given backend. */
async function lossAndGrads(backend: 'tensorflow' | 'cpu'): Promise<Float32Array[]> {
  await initBackend(backend);
  registerNativeGradients();
  const a0 = tf.tensor2d(fixed([6, 11], 1), [6, 11]);
  const w = tf.tensor2d(fixed([11, 11], 2), [11, 11]);
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D))));
  const value = f(a0, w);
  const grads = tf.grads(f)([a0, w]);
  const out = await Promise.all([value, ...grads].map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([a0, w, value, ...grads]);
  return out;
}

describe('native ops', () => {
  it.skipIf(!native)("ReLU's gradient through TensorFlow's ReluGrad equals tfjs's on cpu", async () => {
    const a = await lossAndGrads('tensorflow');
    const b = await lossAndGrads('cpu');
    a.forEach((x, i) => x.forEach((v, j) => expect(v).toBeCloseTo(b[i]![j]!, 3)));
  });

  it.skipIf(!native)("x w + b with the bias in oneDNN's product epilogue equals the product and then the add, w plain or transposed", async () => {
    await initBackend('tensorflow');
    const x = tf.tensor2d(fixed([37, 19], 3), [37, 19]);
    const w = tf.tensor2d(fixed([19, 23], 4), [19, 23]);
    const wT = tf.transpose(w) as tf.Tensor2D;
    const b = tf.tensor1d(fixed([23], 5));
    const reference = await tf.add(matMul2d(x, w), b).data();
    // The engine turns oneDNN's kernels on unless the user turned them off.
    expect(fusedMatMulSupported()).toBe(process.env['TF_ENABLE_ONEDNN_OPTS'] !== '0');
    for (const y of [matMulBias(x, w, b), matMulBias(x, wT, b, false, true)]) {
      expect(y.shape).toEqual([37, 23]);
      (await y.data()).forEach((v, i) => expect(v).toBeCloseTo(reference[i]!, 4));
      y.dispose();
    }
    tf.dispose([x, w, wT, b]);
  });

  it.skipIf(!native)('a resource variable keeps what it was given, and values read earlier do not change when it does', async () => {
    await initBackend('tensorflow');
    const before = tf.memory().numTensors;
    const init = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const v = new NativeVariable([2, 3], init);
    const first = v.read();
    expect(first.shape).toEqual([2, 3]);
    v.write(tf.fill([2, 3], 7), true);
    expect(Array.from(await first.data())).toEqual([1, 2, 3, 4, 5, 6]);
    const second = v.read();
    expect(Array.from(await second.data())).toEqual([7, 7, 7, 7, 7, 7]);
    expect(Array.from(await init.data())).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose([init, first, second]);
    v.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
