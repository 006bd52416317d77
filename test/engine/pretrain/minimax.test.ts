import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../engine/backend/selection.js';
import { SeededRandom } from '../../../engine/random.js';
import { emaStep, groupDroStep, normalisedLosses, smoothMax, softmaxTaskWeights } from '../../../engine/pretrain/softmax-weights.js';
import { keepState, TaskWeighting, type WeightingState } from '../../../engine/pretrain/minimax.js';

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
    const w = new TaskWeighting(4, { method: 'softmax', eta: 1e4, ema: 0, losses: 'raw' });
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
    const w = new TaskWeighting(2, { method: 'softmax', eta, ema: 0, losses: 'raw' });
    const g = tf.variableGrads(() => w.objective(losses()).total, [theta]).grads[theta.name]!.arraySync() as number[];
    // Reference: gradient of (1/eta) log sum exp(eta L_i).
    const ref = tf.variableGrads(() => tf.div(tf.logSumExp(tf.mul(losses(), eta)), eta) as tf.Scalar, [theta]).grads[theta.name]!.arraySync() as number[];
    g.forEach((x, i) => expect(x).toBeCloseTo(ref[i]!, 5));
    // eta = 0 gives exactly the gradient of the average.
    const w0 = new TaskWeighting(2, { method: 'softmax', eta: 0, ema: 0, losses: 'raw' });
    const g0 = tf.variableGrads(() => w0.objective(losses()).total, [theta]).grads[theta.name]!.arraySync() as number[];
    const avg = tf.variableGrads(() => tf.mean(losses()) as tf.Scalar, [theta]).grads[theta.name]!.arraySync() as number[];
    expect(g0).toEqual(avg);
    theta.dispose();
  });
});

/** One step of a device weighting on given losses (as the pre-training loop does it); returns its weights. */
function step(w: TaskWeighting, row: number[]): number[] {
  let weights: number[] = [];
  let next: WeightingState | null = null;
  tf.tidy(() => {
    const o = w.objective(tf.tensor1d(row));
    weights = o.weights.arraySync();
    next = keepState(o.next);
  });
  w.update(next);
  return weights;
}

describe('what the minimax weights see: normalised, smoothed losses', () => {
  beforeAll(async () => void (await initBackend('cpu')));

  /** Runs `steps` of the device weighting on given loss rows; returns the weights of each step. */
  function deviceWeights(config: Parameters<typeof makeWeighting>[0], rows: number[][], references: number[] | null = null): number[][] {
    const w = makeWeighting(config, rows[0]!.length, references);
    const out: number[][] = [];
    for (const row of rows) out.push(step(w, row));
    w.dispose();
    return out;
  }
  function makeWeighting(config: { eta: number; ema: number; losses: 'raw' | 'relative' | 'excess' }, k: number, references: number[] | null) {
    return new TaskWeighting(k, { method: 'softmax', ...config }, references);
  }

  it("'relative' divides each loss by its first-step value: the first step is uniform, then softmax(eta * l / l0)", () => {
    const rows = [[0.5, 0.2], [0.5, 0.4], [0.25, 0.1]];
    const got = deviceWeights({ eta: 3, ema: 0, losses: 'relative' }, rows);
    rows.forEach((row, t) => {
      const ref = softmaxTaskWeights(normalisedLosses(row, 'relative', rows[0]!, [0, 0]), 3);
      got[t]!.forEach((p, i) => expect(p).toBeCloseTo(ref[i]!, 6));
    });
    expect(got[0]).toEqual([0.5, 0.5]);
    // [1, 2]: the second task doubled its loss relative to its start, so it gets exp(3) times the weight.
    expect(got[1]![1]! / got[1]![0]!).toBeCloseTo(Math.exp(3), 4);
  });

  it("'excess' subtracts the per-task reference; 'raw' uses the losses as they are", () => {
    const rows = [[0.5, 0.2], [0.4, 0.3]];
    const excess = deviceWeights({ eta: 10, ema: 0, losses: 'excess' }, rows, [0.3, 0.1]);
    const raw = deviceWeights({ eta: 10, ema: 0, losses: 'raw' }, rows);
    rows.forEach((row, t) => {
      const e = softmaxTaskWeights(normalisedLosses(row, 'excess', row, [0.3, 0.1]), 10);
      const r = softmaxTaskWeights(row, 10);
      excess[t]!.forEach((p, i) => expect(p).toBeCloseTo(e[i]!, 6));
      raw[t]!.forEach((p, i) => expect(p).toBeCloseTo(r[i]!, 6));
    });
    // [0.2, 0.1] after subtracting the references, against [0.5, 0.2] raw: the same order, less lopsided.
    expect(excess[0]![0]!).toBeLessThan(raw[0]![0]!);
    expect(() => new TaskWeighting(2, { method: 'softmax', eta: 1, ema: 0, losses: 'excess' })).toThrow(/excess' losses need 2 per-task references/);
  });

  it('the EMA smooths the normalised losses before the softmax, and equals the float64 recursion', () => {
    const rows = [[1, 1], [3, 1], [1, 3], [2, 2]];
    const ema = 0.5;
    const got = deviceWeights({ eta: 2, ema, losses: 'raw' }, rows);
    let smoothed: Float64Array | null = null;
    rows.forEach((row, t) => {
      smoothed = emaStep(smoothed, row, ema);
      const ref = softmaxTaskWeights(smoothed, 2);
      got[t]!.forEach((p, i) => expect(p).toBeCloseTo(ref[i]!, 6));
    });
    // Step 2 sees (1 + 3) / 2 = 2 for task 0, not 3: a single noisy step moves the weights half as far.
    expect(got[1]![0]! / got[1]![1]!).toBeCloseTo(Math.exp(2 * (2 - 1)), 4);
  });

  it('the state (EMA, first-step losses) survives a checkpoint: a restored weighting continues identically', async () => {
    const rows = [[0.5, 0.2], [0.6, 0.1], [0.2, 0.3]];
    const config = { method: 'softmax' as const, eta: 4, ema: 0.7, losses: 'relative' as const };
    const a = new TaskWeighting(2, config);
    step(a, rows[0]!);
    step(a, rows[1]!);
    const b = new TaskWeighting(2, config);
    b.loadState(await a.saveState());
    expect(step(b, rows[2]!)).toEqual(step(a, rows[2]!));
    a.dispose();
    b.dispose();
  });
});
