/**
 * Randomized smoothing (Cohen, Rosenfeld & Kolter, ICML 2019), as in their `core.py`.
 *
 * The smoothed classifier g(x) = argmax_c P(f(x + eps) = c), eps ~ N(0, sigma^2 I), is robust around x:
 * if the top class has probability pA >= 1/2 under the noise, g is constant within the L2 ball of radius
 * sigma * PhiInverse(pA). `certify` estimates a lower bound of pA by Monte Carlo and returns that radius;
 * `predict` returns g(x) or abstains. Noise is drawn on the backend (device-random), the N noisy copies go
 * through f in batches, the argmax is taken on the backend, and only per-class counts reach the host.
 */
import * as tf from '@tensorflow/tfjs';
import binomialTest from '@stdlib/stats-binomial-test';
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { deriveSeed, randomNormal } from '../backend/device-random.js';
import { EngineError } from '../errors.js';

/** The base classifier f: a batch [B, ...inputShape] to logits (or any scores) [B, numClasses]. */
export type BaseClassifier = (batch: tf.Tensor) => tf.Tensor2D;

/** The answer that is not a class: the smoothed classifier declines to predict (or to certify). */
export const ABSTAIN = -1;

/** Streams of one point's seed: CERTIFY's selection and estimation draws must be independent. */
const SELECTION_STREAM = 0;
export const ESTIMATION_STREAM = 1;
const PREDICTION_STREAM = 2;

export interface SamplingOptions {
  /** Noise level: eps ~ N(0, sigma^2 I). */
  readonly sigma: number;
  /** How many noisy copies go through f at once (memory vs speed). */
  readonly batchSize: number;
  readonly numClasses: number;
  /** The point's seed (e.g. deriveSeed(experimentSeed, index)): equal seeds give equal draws. */
  readonly seed: number;
}

export interface SampleUnderNoiseOptions extends SamplingOptions {
  /** Number of noisy copies. */
  readonly num: number;
  /** Which independent stream of `seed` the noise comes from. */
  readonly stream: number;
  /** Number of the first batch (default 0): a caller drawing one stream in several calls continues the numbering. */
  readonly firstBatch?: number;
}

/**
 * Counts of f(x + eps) over `num` draws eps ~ N(0, sigma^2 I): an Int32Array [numClasses].
 * `x` has the input shape without a batch axis. Deterministic in (seed, stream, batchSize) on a given
 * backend: batch b's noise is stream b of deriveSeed(seed, stream) (b counted from `firstBatch`), so
 * another batchSize draws other (equally valid) noise.
 */
export function sampleUnderNoise(f: BaseClassifier, x: tf.Tensor, options: SampleUnderNoiseOptions): Int32Array {
  const { num, sigma, batchSize, numClasses, seed, stream, firstBatch = 0 } = options;
  checkSampling(options);
  if (!(Number.isInteger(num) && num >= 0)) throw new EngineError(`the number of noise draws must be a non-negative integer; got ${num}`);
  const batchSeed = deriveSeed(seed, stream);
  let counts = tf.zeros([numClasses], 'int32');
  for (let batch = firstBatch, done = 0; done < num; batch++, done += batchSize) {
    const size = Math.min(batchSize, num - done);
    const next = tf.tidy(() => {
      const noise = randomNormal([size, ...x.shape], { seed: batchSeed, stream: batch, stddev: sigma });
      const logits = f(x.expandDims(0).add(noise));
      if (logits.rank !== 2 || logits.shape[0] !== size || logits.shape[1] !== numClasses) {
        throw new EngineError(`the base classifier must return logits [${size}, ${numClasses}]; got [${logits.shape.join(', ')}]`);
      }
      const predictions = logits.argMax(1) as tf.Tensor1D;
      return counts.add(tf.oneHot(predictions, numClasses).sum(0).toInt());
    });
    counts.dispose();
    counts = next;
  }
  const result = counts.dataSync() as Int32Array;
  counts.dispose();
  return Int32Array.from(result);
}

export interface PredictOptions extends SamplingOptions {
  /** Number of noise draws. */
  readonly n: number;
  /** Probability of returning a class other than g(x). */
  readonly alpha: number;
}

/**
 * PREDICT: g(x), or ABSTAIN. With probability at least 1 - alpha over the noise, the answer is either
 * ABSTAIN or the smoothed classifier's true top class g(x).
 */
export function predict(f: BaseClassifier, x: tf.Tensor, options: PredictOptions): number {
  checkAlpha(options.alpha);
  const counts = sampleUnderNoise(f, x, { ...options, num: options.n, stream: PREDICTION_STREAM });
  return decidePrediction(counts, options.alpha);
}

/**
 * PREDICT's decision from counts: the top class cA if the two-sided binomial test of (nA, nA + nB, 1/2)
 * rejects "cA and the runner-up cB are equally likely" at level alpha, else ABSTAIN (so an exact tie
 * always abstains). Ties in the count go to the lower class index.
 */
export function decidePrediction(counts: ArrayLike<number>, alpha: number): number {
  checkAlpha(alpha);
  const [cA, cB] = topTwo(counts);
  const nA = counts[cA]!;
  const nB = cB < 0 ? 0 : counts[cB]!;
  if (nA + nB === 0) return ABSTAIN;
  const { pValue } = binomialTest(nA, nA + nB, { p: 0.5, alternative: 'two-sided' });
  return pValue <= alpha ? cA : ABSTAIN;
}

export interface CertifyOptions extends SamplingOptions {
  /** Selection draws: the candidate class cA is their most frequent prediction. */
  readonly n0: number;
  /** Estimation draws: nA counts cA among them. */
  readonly n: number;
  /** Failure probability of the certificate. */
  readonly alpha: number;
}

export interface Certificate {
  /** cA, or ABSTAIN (-1) when pALower < 1/2. */
  readonly prediction: number;
  /** L2 radius within which g is certified constant (0 when abstaining). */
  readonly radius: number;
  /** One-sided (1 - alpha) Clopper-Pearson lower bound of P(f(x + eps) = cA). */
  readonly pALower: number;
  /** Count of cA among the estimation draws. */
  readonly nA: number;
  /** Estimation draws taken (n for CERTIFY; at most n for sequential CERTIFY). */
  readonly n: number;
}

/**
 * CERTIFY: with probability at least 1 - alpha over the noise, if the answer is not ABSTAIN then the
 * smoothed classifier g predicts `prediction` at every point within L2 distance `radius` of x.
 * radius = sigma * PhiInverse(pALower); it never exceeds maxCertifiableRadius(sigma, n, alpha).
 */
export function certify(f: BaseClassifier, x: tf.Tensor, options: CertifyOptions): Certificate {
  const { sigma, n0, n, alpha } = options;
  checkAlpha(alpha);
  if (!(Number.isInteger(n0) && n0 > 0 && Number.isInteger(n) && n > 0)) throw new EngineError(`certify needs n0 >= 1 selection and n >= 1 estimation draws; got n0 = ${n0}, n = ${n}`);
  const cA = selectCandidate(f, x, options);
  const nA = sampleUnderNoise(f, x, { ...options, num: n, stream: ESTIMATION_STREAM })[cA]!;
  const pALower = lowerConfidenceBound(nA, n, alpha);
  if (pALower < 0.5) return { prediction: ABSTAIN, radius: 0, pALower, nA, n };
  return { prediction: cA, radius: sigma * normalQuantile(pALower, 0, 1), pALower, nA, n };
}

/** CERTIFY's first step: cA, the most frequent class of f over the n0 selection draws (ties to the lower index). */
export function selectCandidate(f: BaseClassifier, x: tf.Tensor, options: SamplingOptions & { readonly n0: number }): number {
  return topTwo(sampleUnderNoise(f, x, { ...options, num: options.n0, stream: SELECTION_STREAM }))[0];
}

/**
 * One-sided (1 - alpha) Clopper-Pearson lower confidence bound on p from nA successes in n Binomial(n, p)
 * trials: P(p >= bound) >= 1 - alpha. It is the alpha quantile of Beta(nA, n - nA + 1), and 0 when nA = 0
 * (statsmodels' `proportion_confint(nA, n, alpha=2*alpha, method="beta")[0]`).
 */
export function lowerConfidenceBound(nA: number, n: number, alpha: number): number {
  checkAlpha(alpha);
  if (!(Number.isInteger(n) && n > 0 && Number.isInteger(nA) && nA >= 0 && nA <= n)) {
    throw new EngineError(`lowerConfidenceBound needs integers 0 <= nA <= n, n > 0; got nA = ${nA}, n = ${n}`);
  }
  if (nA === 0) return 0;
  return betaQuantile(alpha, nA, n - nA + 1);
}

/**
 * The largest radius CERTIFY can return with n estimation draws: all n agree, pALower = alpha^(1/n),
 * radius = sigma * PhiInverse(alpha^(1/n)) (3.81 sigma at n = 1e5, alpha = 0.001).
 */
export function maxCertifiableRadius(sigma: number, n: number, alpha: number): number {
  checkAlpha(alpha);
  return sigma * normalQuantile(Math.pow(alpha, 1 / n), 0, 1);
}

/** Indices of the largest and second-largest counts (lower index first on ties; -1 when absent). */
function topTwo(counts: ArrayLike<number>): [number, number] {
  let a = -1;
  let b = -1;
  for (let c = 0; c < counts.length; c++) {
    if (a < 0 || counts[c]! > counts[a]!) {
      b = a;
      a = c;
    } else if (b < 0 || counts[c]! > counts[b]!) b = c;
  }
  if (a < 0) throw new EngineError('cannot decide among zero classes; numClasses must be at least 1');
  return [a, b];
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) throw new EngineError(`alpha must be in (0, 1); got ${alpha}`);
}

function checkSampling({ sigma, batchSize, numClasses }: SamplingOptions): void {
  if (!(Number.isFinite(sigma) && sigma >= 0)) throw new EngineError(`sigma must be a finite number >= 0; got ${sigma}`);
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new EngineError(`batchSize must be a positive integer; got ${batchSize}`);
  if (!(Number.isInteger(numClasses) && numClasses > 0)) throw new EngineError(`numClasses must be a positive integer; got ${numClasses}`);
}
