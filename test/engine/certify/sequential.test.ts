/**
 * Sequential CERTIFY's guarantee by simulation: on "classifiers" whose probability pA of the top class is known,
 * the rate of false certificates (a radius above the true radius sigma * PhiInverse(pA), or any certificate when
 * pA < 1/2) stays at or below alpha, as fixed-n CERTIFY's does; and it takes fewer draws.
 */
import * as tf from '@tensorflow/tfjs';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../engine/backend/selection.js';
import { ABSTAIN, certify, ESTIMATION_STREAM, lowerConfidenceBound, sampleUnderNoise, type BaseClassifier } from '../../../engine/certify/smoothing.js';
import { certifySequential, FINAL_SHARE, lookSchedule, sequentialCertify, upperConfidenceBound } from '../../../engine/certify/sequential.js';
import { SeededRandom } from '../../../engine/random.js';

/** Draws [from, to) of a classifier that answers cA with probability pA, from one seeded stream per trial. */
function bernoulli(pA: number, seed: number) {
  const rng = new SeededRandom(seed, 99);
  return (from: number, to: number) => {
    let k = 0;
    for (let i = from; i < to; i++) if (rng.next() < pA) k++;
    return k;
  };
}

describe('sequential CERTIFY', () => {
  it('spends at most alpha over its looks, the last look FINAL_SHARE of it, the earlier ones halving backwards; looks double and end at n', () => {
    const looks = lookSchedule(10_000, 100, 0.001, 100);
    expect(looks.map((l) => l.draws)).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10_000]);
    expect(looks.reduce((a, l) => a + l.alpha, 0)).toBeLessThan(0.001);
    expect(looks.at(-1)!.alpha).toBeCloseTo(FINAL_SHARE * 0.001, 12);
    expect(looks.at(-2)!.alpha).toBeCloseTo(((1 - FINAL_SHARE) * 0.001) / 2, 12);
    expect(lookSchedule(10_000, 100, 0.001, 100, 0.9).at(-1)!.alpha).toBeCloseTo(0.0009, 12);
    expect(() => lookSchedule(10_000, 100, 0.001, 100, 0)).toThrow('lookSchedule needs a final share of alpha in (0, 1]; got 0');
  });

  it('the upper bound is the Clopper-Pearson one: P(p <= U) >= 1 - alpha', () => {
    // Symmetry: the upper bound of k successes is 1 minus the lower bound of n - k successes.
    expect(upperConfidenceBound(30, 100, 0.01)).toBeCloseTo(1 - lowerConfidenceBound(70, 100, 0.01), 12);
    expect(upperConfidenceBound(100, 100, 0.01)).toBe(1);
  });

  it('false certificates stay at or below alpha for every true pA, with fewer draws than fixed n', () => {
    const sigma = 0.5;
    const n = 2000;
    const alpha = 0.05;
    const radii = [0, 0.25, 0.5, 0.75, 1];
    const trials = 1500;
    let draws = 0;
    let total = 0;
    for (const pA of [0.45, 0.5, 0.55, 0.7, 0.9, 0.97, 0.995, 1]) {
      let wrong = 0;
      for (let t = 0; t < trials; t++) {
        const d = sequentialCertify(bernoulli(pA, 1000 * t + Math.round(1000 * pA)), { sigma, n, alpha, radii, first: 100 });
        const trueRadius = pA < 0.5 ? -Infinity : sigma * normalQuantile(pA, 0, 1);
        if (d.radius !== null && d.radius > trueRadius) wrong++;
        draws += d.draws;
        total += n;
      }
      // alpha plus three binomial standard errors of the simulation.
      expect(wrong / trials, `pA = ${pA}`).toBeLessThanOrEqual(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / trials));
    }
    expect(draws / total).toBeLessThan(0.7);
  });

  it('stops early when the outcome is decided, and otherwise counts the same draws as fixed-n CERTIFY', () => {
    const o = { sigma: 1, n: 10_000, alpha: 0.001, radii: [0, 0.25, 0.5, 0.75, 1], first: 100 };
    // Always cA: the radius passes the largest reported one long before n draws.
    const sure = sequentialCertify((a, b) => b - a, o);
    expect(sure.reason).toBe('reached the largest radius');
    expect(sure.draws).toBeLessThan(1000);
    expect(sure.radius!).toBeGreaterThanOrEqual(1);
    // Never cA: abstains at the first look.
    const never = sequentialCertify(() => 0, o);
    expect(never).toMatchObject({ radius: null, draws: 100, reason: 'upper bound below the next radius' });
    // cA one time in three: cannot be certified; stops once its upper bound shows it.
    const rare = sequentialCertify(bernoulli(0.3, 7), o);
    expect(rare).toMatchObject({ radius: null, reason: 'upper bound below the next radius' });
    expect(rare.draws).toBeLessThanOrEqual(400);
    // A point that needs every draw counts them exactly as fixed-n CERTIFY does (the same draws, in order),
    // and its bound differs only by the alpha the earlier looks spent.
    // pA = 0.978 puts the true radius (0.25 * PhiInverse(0.978) = 0.503) on the 0.5 threshold.
    const hard = sequentialCertify(bernoulli(0.978, 11), { ...o, sigma: 0.25 });
    expect(hard.reason).toBe('all draws taken');
    const fixedN = bernoulli(0.978, 11)(0, o.n);
    expect(hard.nA).toBe(fixedN);
    expect(hard.pALower).toBeCloseTo(lowerConfidenceBound(fixedN, o.n, FINAL_SHARE * o.alpha), 12);
    expect(hard.pALower).toBeLessThan(lowerConfidenceBound(fixedN, o.n, o.alpha));
  });
});

describe('certifySequential (a real classifier on the tensor backend)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  /** f(x) = [x0 + x1 > 0] as 2-class logits: at signed distance d from the line, pA = Phi(|d| / sigma). */
  const f: BaseClassifier = (batch) => tf.tidy(() => {
    const z = batch.sum(1, true);
    return tf.concat([z.neg(), z], 1) as tf.Tensor2D;
  });
  const at = (d: number) => tf.tensor1d([d / Math.SQRT2, d / Math.SQRT2]);
  const o = { sigma: 0.5, n0: 100, n: 3200, alpha: 0.001, batchSize: 100, numClasses: 2, seed: 42, radii: [0, 0.25, 0.5, 0.75, 1] };

  it('continues one noise stream across looks: batches drawn in two calls are the batches one call draws', () => {
    const x = at(0.1);
    const whole = sampleUnderNoise(f, x, { ...o, num: 300, stream: ESTIMATION_STREAM });
    const first = sampleUnderNoise(f, x, { ...o, num: 100, stream: ESTIMATION_STREAM });
    const rest = sampleUnderNoise(f, x, { ...o, num: 200, stream: ESTIMATION_STREAM, firstBatch: 1 });
    expect(Array.from(whole)).toEqual([first[0]! + rest[0]!, first[1]! + rest[1]!]);
    x.dispose();
  });

  it('stops a far point once its radius passes the largest reported one; a point on the line abstains; one look answers as fixed n', () => {
    // Distance 3 = 6 sigma: every draw is class 1; the radius bound passes 1 at the first look whose lower bound
    // from all-agreeing draws exceeds Phi(1 / sigma), long before n.
    const far = at(3);
    const sure = certifySequential(f, far, o);
    expect(sure).toMatchObject({ prediction: 1, nA: sure.n });
    expect(sure.n).toBeLessThan(o.n / 2);
    expect(sure.radius).toBeGreaterThanOrEqual(1);
    far.dispose();
    const line = at(0);
    // pA = 1/2 exactly is never decided early (no bound excludes 1/2): it takes every draw, then abstains.
    expect(certifySequential(f, line, o)).toMatchObject({ prediction: ABSTAIN, n: o.n });
    line.dispose();
    // One look (n = first): the same draws as CERTIFY, the bound at FINAL_SHARE alpha.
    const mid = at(0.4);
    const one = certifySequential(f, mid, { ...o, n: 100 });
    const fixed = certify(f, mid, { ...o, n: 100 });
    expect(one).toMatchObject({ prediction: fixed.prediction, nA: fixed.nA, n: 100 });
    expect(one.pALower).toBeCloseTo(lowerConfidenceBound(fixed.nA, 100, FINAL_SHARE * o.alpha), 12);
    mid.dispose();
  });

  it('refuses radii that are not increasing, in one line', () => {
    const x = at(1);
    expect(() => certifySequential(f, x, { ...o, radii: [0.5, 0.25] })).toThrow('sequential CERTIFY needs radii that are >= 0 and strictly increasing; got [0.5, 0.25]');
    x.dispose();
  });
});
