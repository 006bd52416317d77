/**
 * Excess risk of a downstream task fitted on a frozen representation, in closed form and by simulation.
 *
 * Downstream task v: y = <v, x> + sigma * eps with x ~ N(0, I_d). The head a is fitted by least squares
 * on z = B^T x from n samples; its excess risk over the Bayes predictor is
 *     E(a) = ||v - B a||^2 = bias + ||B^T v - a||^2,   bias = ||(I - B B^T) v||^2.
 * Exact expectation (Gaussian design): the part of v outside span B is independent of z, so the head
 * sees noise of variance sigma^2 + bias, and E||a - B^T v||^2 = (sigma^2 + bias) E tr((Z^T Z)^{-1})
 * = (sigma^2 + bias) r / (n - r - 1) (mean of an inverse Wishart, n > r + 1). Hence
 *     E[excess risk] = bias + (sigma^2 + bias) r / (n - r - 1).
 * (The often-quoted bias + sigma^2 r / n is the large-n, bias-free approximation of this.)
 * Without a representation (B = I_d) the same formula gives sigma^2 d / (n - d - 1).
 */
import { cholesky, choleskySolve } from './linear-algebra.js';
import { outsideSpan } from './linear-representation.js';
import type { GaussianSource } from './random.js';

/** bias + (sigma^2 + bias) r / (n - r - 1); Infinity when n <= r + 1 (the expectation diverges). */
export function expectedExcessRisk(bias: number, noise: number, r: number, n: number): number {
  if (n <= r + 1) return Infinity;
  return bias + ((noise ** 2 + bias) * r) / (n - r - 1);
}

/** The smallest n with expectedExcessRisk <= target; Infinity when the bias alone exceeds the target. */
export function samplesToReach(bias: number, noise: number, r: number, target: number): number {
  if (bias >= target) return Infinity;
  return Math.ceil(r + 1 + ((noise ** 2 + bias) * r) / (target - bias));
}

export interface SimulatedRisk {
  readonly mean: number;
  readonly standardError: number;
  readonly trials: number;
}

/**
 * Monte-Carlo estimate of the expected excess risk: each trial draws n fresh samples x ~ N(0, I_d),
 * y = <v, x> + sigma eps, fits the head on B^T x by least squares and scores it exactly by ||v - B a||^2.
 */
export function simulateExcessRisk(
  basis: Float64Array,
  d: number,
  r: number,
  v: Float64Array,
  noise: number,
  n: number,
  trials: number,
  rng: GaussianSource,
): SimulatedRisk {
  const bias = outsideSpan(basis, d, r, v);
  const projected = new Float64Array(r);
  for (let i = 0; i < d; i++) for (let j = 0; j < r; j++) projected[j] += basis[i * r + j]! * v[i]!;
  const x = new Float64Array(d);
  const z = new Float64Array(r);
  let sum = 0;
  let sumSq = 0;
  for (let trial = 0; trial < trials; trial++) {
    const zz = new Float64Array(r * r);
    const zy = new Float64Array(r);
    for (let s = 0; s < n; s++) {
      rng.fillNormal(x);
      let y = noise * rng.normal();
      z.fill(0);
      // Inlined projection z = B^T x and label y = <v, x>: this loop is the whole cost of the simulation.
      for (let i = 0; i < d; i++) {
        const xi = x[i]!;
        y += v[i]! * xi;
        for (let j = 0; j < r; j++) z[j] += basis[i * r + j]! * xi;
      }
      for (let a = 0; a < r; a++) {
        zy[a] += z[a]! * y;
        for (let b = a; b < r; b++) zz[a * r + b] += z[a]! * z[b]!;
      }
    }
    for (let a = 0; a < r; a++) for (let b = 0; b < a; b++) zz[a * r + b] = zz[b * r + a]!;
    const head = choleskySolve(cholesky(zz, r), r, zy);
    let risk = bias;
    for (let j = 0; j < r; j++) risk += (projected[j]! - head[j]!) ** 2;
    sum += risk;
    sumSq += risk * risk;
  }
  const mean = sum / trials;
  const variance = Math.max(sumSq / trials - mean * mean, 0) * (trials / (trials - 1));
  return { mean, standardError: Math.sqrt(variance / trials), trials };
}
