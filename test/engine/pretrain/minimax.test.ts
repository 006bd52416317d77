import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../engine/backend/selection.js';
import { SeededRandom } from '../../../engine/random.js';
import { groupDroStep, smoothMax, softmaxTaskWeights } from '../../../engine/pretrain/softmax-weights.js';
import { TaskWeighting } from '../../../engine/pretrain/minimax.js';

/** float64 reference, written independently of the implementation (log-sum-exp form). */
function referenceSoftmax(l: number[], eta: number): number[] {
  const m = Math.max(...l.map((x) => eta * x));
  const lse = m + Math.log(l.reduce((s, x) => s + Math.exp(eta * x - m), 0));
  return l.map((x) => Math.exp(eta * x - lse));
}

describe('softmax task weights', () => {
  beforeAll(async () => void (await initBackend('cpu')));

  it('equal a float64 reference on random losses', () => {
    const r = new SeededRandom(1);
    for (let trial = 0; trial < 200; trial++) {
      const k = 2 + r.int(8);
      const l = Array.from({ length: k }, () => r.next() * 10);
      const eta = [0.1, 1, 10, 100][trial % 4]!;
      const p = softmaxTaskWeights(l, eta);
      referenceSoftmax(l, eta).forEach((q, i) => expect(p[i]).toBeCloseTo(q, 12));
    }
  });

  it('eta = 0 is exactly uniform; a very large eta puts ~all weight on the largest loss', () => {
    expect(Array.from(softmaxTaskWeights([3, 1, 2, 7], 0))).toEqual([0.25, 0.25, 0.25, 0.25]);
    const p = softmaxTaskWeights([1, 1000, 999.9], 1e4);
    expect(p[1]).toBeGreaterThan(1 - 1e-12);
  });

  it('no NaN or Inf for eta up to 1e4 and losses up to 1e3, on the host and on the device', () => {
    const l = [1e3, 0, 999.5, 1e-3];
    const host = softmaxTaskWeights(l, 1e4);
    expect(host.every(Number.isFinite)).toBe(true);
    const w = new TaskWeighting(4, { method: 'softmax', eta: 1e4, ema: 0 });
    const dev = tf.tidy(() => w.objective(tf.tensor1d(l)).weights.arraySync());
    expect(dev.every(Number.isFinite)).toBe(true);
    expect(dev[0]).toBeCloseTo(1, 6);
  });

  it('the smooth max lies between max and max + log(k)/eta', () => {
    const l = [0.3, 0.9, 0.5];
    for (const eta of [0.5, 5, 50]) {
      expect(smoothMax(l, eta)).toBeGreaterThanOrEqual(0.9);
      expect(smoothMax(l, eta)).toBeLessThanOrEqual(0.9 + Math.log(3) / eta + 1e-12);
    }
  });

  it('Group DRO multiplies weights by exp(eta * loss) and renormalises', () => {
    const q = groupDroStep([0.5, 0.5], [1, 0], Math.log(3));
    expect(q[0]).toBeCloseTo(0.75, 12);
    expect(q[1]).toBeCloseTo(0.25, 12);
  });

  it('device gradients: softmax weighting descends grad F_eta = sum p_i grad L_i, with p held constant', () => {
    const theta = tf.variable(tf.tensor1d([0.2, -0.4]));
    const losses = () => tf.stack([tf.sum(tf.square(tf.sub(theta, tf.tensor1d([1, 0])))), tf.mul(tf.sum(tf.square(tf.add(theta, tf.tensor1d([0, 1])))), 3)]) as tf.Tensor1D;
    const eta = 2;
    const w = new TaskWeighting(2, { method: 'softmax', eta, ema: 0 });
    const g = tf.variableGrads(() => w.objective(losses()).total, [theta]).grads[theta.name]!.arraySync() as number[];
    // Reference: gradient of (1/eta) log sum exp(eta L_i).
    const ref = tf.variableGrads(() => tf.div(tf.logSumExp(tf.mul(losses(), eta)), eta) as tf.Scalar, [theta]).grads[theta.name]!.arraySync() as number[];
    g.forEach((x, i) => expect(x).toBeCloseTo(ref[i]!, 5));
    // eta = 0 gives exactly the gradient of the average.
    const w0 = new TaskWeighting(2, { method: 'softmax', eta: 0, ema: 0 });
    const g0 = tf.variableGrads(() => w0.objective(losses()).total, [theta]).grads[theta.name]!.arraySync() as number[];
    const avg = tf.variableGrads(() => tf.mean(losses()) as tf.Scalar, [theta]).grads[theta.name]!.arraySync() as number[];
    expect(g0).toEqual(avg);
    theta.dispose();
  });
});
