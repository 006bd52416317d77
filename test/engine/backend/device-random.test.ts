import * as tf from '@tensorflow/tfjs';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendName } from '../../../engine/backend/selection.js';
import { deriveSeed, randomNormal, randomUniform } from '../../../engine/backend/device-random.js';

// Every backend that can run here: cpu and wasm always, native TensorFlow when it loads.
const backends: BackendName[] = ['cpu', 'wasm'];
try {
  await initBackend('tensorflow');
  backends.push('tensorflow');
} catch (e) {
  console.log(`device-random: native tensorflow backend not available (${(e as Error).message})`);
}
console.log(`device-random: testing on backends ${backends.join(', ')}`);

const N = 1_000_000;

/** Kolmogorov-Smirnov distance between the sample and a continuous cdf. */
function ksDistance(sample: Float32Array, cdf: (x: number) => number): number {
  const sorted = Float32Array.from(sample).sort();
  let d = 0;
  for (let i = 0; i < sorted.length; i++) {
    const F = cdf(sorted[i]!);
    d = Math.max(d, (i + 1) / sorted.length - F, F - i / sorted.length);
  }
  return d;
}

function moments(a: Float32Array): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean) };
}

function correlation(a: Float32Array, b: Float32Array): number {
  const ma = moments(a);
  const mb = moments(b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - ma.mean) * (b[i]! - mb.mean);
  return s / a.length / (ma.std * mb.std);
}

function draw(t: tf.Tensor): Float32Array {
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

// KS critical value at level 0.001 is 1.95 / sqrt(N); means and correlations within ~5 standard errors.
const KS_CRITICAL = 1.95 / Math.sqrt(N);
const SE = 1 / Math.sqrt(N);

describe.each(backends)('device random numbers on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it('draws float32 N(0, 1) of the asked shape: mean, std and Kolmogorov-Smirnov distance within tolerance on 1e6 draws', () => {
    const t = randomNormal([1000, 1000], { seed: 7, stream: 0 });
    expect(t.shape).toEqual([1000, 1000]);
    expect(t.dtype).toBe('float32');
    const x = draw(t);
    const { mean, std } = moments(x);
    expect(Math.abs(mean)).toBeLessThan(5 * SE);
    expect(Math.abs(std - 1)).toBeLessThan(5 * SE);
    expect(ksDistance(x, (v) => normalCdf(v, 0, 1))).toBeLessThan(KS_CRITICAL);
  });

  it('applies mean and stddev', () => {
    const { mean, std } = moments(draw(randomNormal([N], { seed: 7, stream: 1, mean: 3, stddev: 0.25 })));
    expect(Math.abs(mean - 3)).toBeLessThan(5 * 0.25 * SE);
    expect(Math.abs(std - 0.25)).toBeLessThan(5 * 0.25 * SE);
  });

  it('draws Uniform[0, 1): range, mean, variance and Kolmogorov-Smirnov distance within tolerance on 1e6 draws', () => {
    const u = draw(randomUniform([N], { seed: 11, stream: 3 }));
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of u) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    const { mean, std } = moments(u);
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * SE * Math.sqrt(1 / 12));
    expect(Math.abs(std * std - 1 / 12)).toBeLessThan(5 * SE * 0.075);
    expect(ksDistance(u, (v) => Math.min(1, Math.max(0, v)))).toBeLessThan(KS_CRITICAL);
  });

  it('is deterministic in (seed, stream, shape)', () => {
    const a = draw(randomNormal([300, 7], { seed: 123, stream: 4 }));
    const b = draw(randomNormal([300, 7], { seed: 123, stream: 4 }));
    expect(b).toEqual(a);
    const ua = draw(randomUniform([2100], { seed: 123, stream: 4 }));
    expect(draw(randomUniform([2100], { seed: 123, stream: 4 }))).toEqual(ua);
  });

  it('gives uncorrelated values across streams, across seeds, and between neighbours in one stream', () => {
    const a = draw(randomNormal([N], { seed: 5, stream: 0 }));
    const b = draw(randomNormal([N], { seed: 5, stream: 1 }));
    const c = draw(randomNormal([N], { seed: 6, stream: 0 }));
    let equal = 0;
    for (let i = 0; i < 1000; i++) if (a[i] === b[i]) equal++;
    expect(equal).toBeLessThan(5);
    expect(Math.abs(correlation(a, b))).toBeLessThan(5 * SE);
    expect(Math.abs(correlation(a, c))).toBeLessThan(5 * SE);
    expect(Math.abs(correlation(a.subarray(1), a.subarray(0, N - 1)))).toBeLessThan(5 * SE);
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    tf.dispose([randomNormal([10, 10], { seed: 1, stream: 2, mean: 1, stddev: 2 }), randomUniform([5], { seed: 1, stream: 2 })]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('host generator shared by wasm and cpu', () => {
  afterAll(async () => {
    await initBackend('cpu');
  });

  it('gives identical values on wasm and cpu for the same (seed, stream, shape)', async () => {
    await initBackend('cpu');
    const onCpu = draw(randomNormal([4, 250], { seed: 9, stream: 2, stddev: 0.5 }));
    await initBackend('wasm');
    expect(draw(randomNormal([4, 250], { seed: 9, stream: 2, stddev: 0.5 }))).toEqual(onCpu);
  });
});

describe('seeds and streams', () => {
  it('deriveSeed folds several integers into one 32-bit seed, deterministically and without collisions on a grid', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      for (let index = 0; index < 500; index++) {
        const s = deriveSeed(seed, index);
        expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
        seen.add(s);
      }
    }
    expect(seen.size).toBe(20 * 500);
    expect(deriveSeed(3, 17)).toBe(deriveSeed(3, 17));
    expect(deriveSeed(3, 17)).not.toBe(deriveSeed(17, 3));
  });

  it('rejects seeds and streams outside [0, 2^32) with a message that says what to do', () => {
    expect(() => randomNormal([2], { seed: -1, stream: 0 })).toThrow(/seed must be an integer in \[0, 2\^32\); got -1 \(use deriveSeed/);
    expect(() => randomUniform([2], { seed: 0, stream: 2 ** 32 })).toThrow(/stream must be an integer in \[0, 2\^32\)/);
    expect(() => deriveSeed(1.5)).toThrow(/deriveSeed takes non-negative integers; got 1.5/);
    expect(() => randomNormal([2], { seed: 0, stream: 0, stddev: -1 })).toThrow(/stddev >= 0/);
  });
});
