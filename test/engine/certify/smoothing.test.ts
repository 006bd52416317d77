import * as tf from '@tensorflow/tfjs';
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendName } from '../../../engine/backend/selection.js';
import {
  ABSTAIN,
  certify,
  decidePrediction,
  lowerConfidenceBound,
  maxCertifiableRadius,
  predict,
  sampleUnderNoise,
  type BaseClassifier,
} from '../../../engine/certify/smoothing.js';
import { deriveSeed } from '../../../engine/backend/device-random.js';

const backends: BackendName[] = ['cpu', 'wasm'];
try {
  await initBackend('tensorflow');
  backends.push('tensorflow');
} catch (e) {
  console.log(`certify: native tensorflow backend not available (${(e as Error).message})`);
}
console.log(`certify: testing on backends ${backends.join(', ')}`);

interface ReferenceCase {
  nA: number;
  n: number;
  alpha: number;
  pALower: number;
  radius: number;
}
const reference = JSON.parse(readFileSync(new URL('../../fixtures/certify/clopper-pearson.json', import.meta.url), 'utf8')) as {
  source: string;
  sigma: number;
  cases: ReferenceCase[];
};

function relativeError(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}

/**
 * The linear base classifier f(x) = [w.x + b > 0] on 2-D points, as logits [-(w.x + b), w.x + b].
 * Under N(0, sigma^2 I) noise, w.(x + eps) + b ~ N(w.x + b, sigma^2 ||w||^2), so
 * P(f(x + eps) = its class at x) = Phi(|w.x + b| / (sigma ||w||)), and the smoothed classifier's exact
 * robust radius is sigma * PhiInverse(that) = |w.x + b| / ||w||: the distance to the decision line.
 */
const W = [3, -4];
const B = 0.5;
const W_NORM = 5;
function linearClassifier(): BaseClassifier {
  const w = tf.tensor2d(W, [2, 1]);
  return (batch) =>
    tf.tidy(() => {
      const z = (batch as tf.Tensor2D).matMul(w).add(B);
      return tf.concat([z.neg(), z], 1) as tf.Tensor2D;
    });
}
/** The point on the positive side of the line at L2 distance `margin` from it (true class 1, true radius = margin). */
function pointAtDistance(margin: number): tf.Tensor1D {
  const t = (margin * W_NORM - B) / W_NORM;
  return tf.tensor1d([(t * W[0]!) / W_NORM, (t * W[1]!) / W_NORM]);
}
/** A base classifier that answers `c` whatever the input. */
function constantClassifier(c: number, numClasses: number): BaseClassifier {
  return (batch) => tf.tidy(() => tf.oneHot(tf.fill([batch.shape[0]!], c, 'int32'), numClasses).toFloat() as tf.Tensor2D);
}

/** Exact probability that the one-sided Clopper-Pearson bound exceeds the true pA (the certificate's failure probability). */
function exactFailureProbability(pA: number, n: number, alpha: number): number {
  let lo = 0;
  let hi = n + 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lowerConfidenceBound(mid, n, alpha) > pA) hi = mid;
    else lo = mid + 1;
  }
  return lo > n ? 0 : 1 - binomialCdf(lo - 1, n, pA);
}

describe('lowerConfidenceBound (one-sided Clopper-Pearson)', () => {
  it(`matches statsmodels proportion_confint(k, n, alpha=2*alpha, method="beta")[0] to 1e-9 relative (${reference.cases.length} cases, k = 0 and k = n included)`, () => {
    expect(reference.source).toMatch(/proportion_confint/);
    expect(reference.cases.some((c) => c.nA === 0)).toBe(true);
    expect(reference.cases.some((c) => c.nA === c.n)).toBe(true);
    for (const c of reference.cases) {
      expect(relativeError(lowerConfidenceBound(c.nA, c.n, c.alpha), c.pALower), `nA=${c.nA} n=${c.n} alpha=${c.alpha}`).toBeLessThan(1e-9);
    }
  });

  it('is 0 when nA = 0 and alpha^(1/n) when nA = n', () => {
    expect(lowerConfidenceBound(0, 1000, 0.001)).toBe(0);
    expect(relativeError(lowerConfidenceBound(1000, 1000, 0.001), Math.pow(0.001, 1 / 1000))).toBeLessThan(1e-12);
  });

  it('rejects impossible counts with a message', () => {
    expect(() => lowerConfidenceBound(11, 10, 0.05)).toThrow(/integers 0 <= nA <= n, n > 0; got nA = 11, n = 10/);
    expect(() => lowerConfidenceBound(1, 10, 0)).toThrow(/alpha must be in \(0, 1\); got 0/);
  });
});

describe('radius edge cases', () => {
  it("maxCertifiableRadius is sigma * PhiInverse(alpha^(1/n)): 3.81 sigma at Cohen's n = 1e5, alpha = 0.001", () => {
    expect(maxCertifiableRadius(1, 100_000, 0.001)).toBeCloseTo(3.81, 2);
    const allAgree = reference.cases.find((c) => c.nA === c.n && c.n === 100_000)!;
    expect(relativeError(maxCertifiableRadius(reference.sigma, allAgree.n, allAgree.alpha), allAgree.radius)).toBeLessThan(1e-9);
  });
});

describe('PREDICT decision (two-sided binomial test of nA vs nB)', () => {
  it('abstains on an exact tie between the top two classes', () => {
    expect(decidePrediction([50, 50, 0], 0.05)).toBe(ABSTAIN);
    expect(decidePrediction([0, 400, 3, 400], 0.001)).toBe(ABSTAIN);
  });

  it('answers the top class on a clear majority, and abstains when the majority is not significant at alpha', () => {
    expect(decidePrediction([80, 20, 0], 0.05)).toBe(0);
    expect(decidePrediction([3, 1, 96], 0.001)).toBe(2);
    // 6 vs 4: two-sided p = 0.754 > 0.05.
    expect(decidePrediction([6, 4], 0.05)).toBe(ABSTAIN);
    // 60 vs 40: p = 0.057 — answers at alpha = 0.1, abstains at alpha = 0.05.
    expect(decidePrediction([60, 40], 0.1)).toBe(0);
    expect(decidePrediction([60, 40], 0.05)).toBe(ABSTAIN);
  });
});

describe.each(backends)('randomized smoothing on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it('sampleUnderNoise counts every draw once, across a ragged last batch, deterministically per (seed, stream)', () => {
    const f = linearClassifier();
    const x = pointAtDistance(0.1);
    const opts = { num: 1050, sigma: 0.5, batchSize: 200, numClasses: 2, seed: 3, stream: 0 };
    const counts = sampleUnderNoise(f, x, opts);
    expect(counts).toBeInstanceOf(Int32Array);
    expect(counts[0]! + counts[1]!).toBe(1050);
    expect(sampleUnderNoise(f, x, opts)).toEqual(counts);
    // Phi(0.1 / 0.5) = 0.579: the count of class 1 is within 4 standard deviations.
    const p = normalCdf(0.2, 0, 1);
    expect(Math.abs(counts[1]! - 1050 * p)).toBeLessThan(4 * Math.sqrt(1050 * p * (1 - p)));
    x.dispose();
  });

  it('predict answers the class on a clear majority and abstains on a coin flip', () => {
    const f = linearClassifier();
    const far = pointAtDistance(1);
    expect(predict(f, far, { sigma: 0.5, n: 1000, alpha: 0.001, batchSize: 500, numClasses: 2, seed: 1 })).toBe(1);
    expect(predict(constantClassifier(3, 5), far, { sigma: 0.5, n: 100, alpha: 0.001, batchSize: 100, numClasses: 5, seed: 1 })).toBe(3);
    // On the decision line each class has probability exactly 1/2.
    const onLine = pointAtDistance(0);
    expect(predict(f, onLine, { sigma: 0.5, n: 1000, alpha: 0.001, batchSize: 500, numClasses: 2, seed: 1 })).toBe(ABSTAIN);
    tf.dispose([far, onLine]);
  });

  it('certify: all draws agree -> radius = sigma * PhiInverse(alpha^(1/n)), matching the reference; pA = 1/2 -> abstain with radius 0', () => {
    const allAgree = reference.cases.find((c) => c.nA === c.n && c.n === 1000)!;
    const x = pointAtDistance(0);
    const sure = certify(constantClassifier(2, 4), x, { sigma: reference.sigma, n0: 10, n: 1000, alpha: allAgree.alpha, batchSize: 400, numClasses: 4, seed: 0 });
    expect(sure.prediction).toBe(2);
    expect(sure.nA).toBe(1000);
    expect(relativeError(sure.pALower, allAgree.pALower)).toBeLessThan(1e-9);
    expect(relativeError(sure.radius, allAgree.radius)).toBeLessThan(1e-9);
    expect(sure.radius).toBe(maxCertifiableRadius(reference.sigma, 1000, allAgree.alpha));

    const coin = certify(linearClassifier(), x, { sigma: 0.5, n0: 100, n: 2000, alpha: 0.001, batchSize: 1000, numClasses: 2, seed: 0 });
    expect(coin.pALower).toBeLessThan(0.5);
    expect(coin).toMatchObject({ prediction: ABSTAIN, radius: 0 });
    x.dispose();
  });

  it('certify on a linear classifier: the radius is at most the true radius and within the Monte-Carlo bound of it', () => {
    const sigma = 1;
    const n = 20_000;
    const alpha = 0.001;
    const trueRadius = 0.8;
    const x = pointAtDistance(trueRadius);
    const c = certify(linearClassifier(), x, { sigma, n0: 100, n, alpha, batchSize: 5000, numClasses: 2, seed: 42 });
    x.dispose();
    const pA = normalCdf(trueRadius / sigma, 0, 1);
    // pALower = pHat - (about) z_alpha * sd, and pHat >= pA - z_alpha * sd except with probability alpha.
    const slack = 2 * normalQuantile(1 - alpha, 0, 1) * Math.sqrt((pA * (1 - pA)) / n);
    expect(c.prediction).toBe(1);
    expect(c.radius).toBeLessThanOrEqual(trueRadius);
    expect(c.radius).toBeGreaterThanOrEqual(sigma * normalQuantile(pA - slack, 0, 1));
  });

  // cpu draws the very same noise as wasm (device-random's host generator) through the same linear map, so
  // there the 3000 certifications would repeat wasm's statistics at twice the cost.
  it.runIf(backend !== 'cpu')('certify is wrong (radius above the true radius, or a wrong class) on fewer than alpha of 3000 seeded points, as often as Clopper-Pearson predicts', () => {
    const f = linearClassifier();
    const R = 3000;
    const n = 500;
    const alpha = 0.05;
    const sigma = 0.5;
    let failures = 0;
    let expected = 0;
    const before = tf.memory().numTensors;
    for (let r = 0; r < R; r++) {
      const margin = 0.05 + (1.2 * deriveSeed(99, r)) / 2 ** 32;
      const x = pointAtDistance(margin);
      const c = certify(f, x, { sigma, n0: 20, n, alpha, batchSize: 500, numClasses: 2, seed: deriveSeed(7, r) });
      x.dispose();
      if (c.prediction !== ABSTAIN && (c.prediction !== 1 || c.radius > margin)) failures++;
      expected += exactFailureProbability(normalCdf(margin / sigma, 0, 1), n, alpha);
    }
    expect(tf.memory().numTensors).toBe(before);
    console.log(`certify on ${backend}: ${failures} / ${R} wrong certificates (${((100 * failures) / R).toFixed(2)}%), exact expectation ${expected.toFixed(1)}, alpha = ${alpha}`);
    expect(expected / R).toBeLessThanOrEqual(alpha);
    expect(failures / R).toBeLessThanOrEqual(alpha);
    expect(Math.abs(failures - expected)).toBeLessThan(4 * Math.sqrt(expected));
  });
});
