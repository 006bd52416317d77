/**
 * Sequential CERTIFY: Cohen et al.'s CERTIFY with the n estimation draws taken in looks, stopping as soon as more
 * draws cannot change which of the reported radii the point is certified at.
 *
 * Guarantee (the union bound over looks, as in group-sequential testing; Jennison & Turnbull, "Group Sequential
 * Methods with Applications to Clinical Trials", 2000, ch. 7, Bonferroni boundaries): look j spends alpha_j of
 * the error budget with sum_j alpha_j <= alpha, and reports the one-sided (1 - alpha_j) Clopper-Pearson lower bound
 * of pA. With probability at least 1 - alpha every look's lower bound is below pA at once, so the bound reported at
 * whatever look the procedure stops at is valid: with probability at least 1 - alpha the certified radius
 * sigma * PhiInverse(lower bound) is at most the true radius sigma * PhiInverse(pA), as for fixed-n CERTIFY. The
 * stopping rule may look at anything (here upper bounds too) without touching this guarantee.
 *
 * Looks: after m_1 = first draws, then doubling (m_j = m_1 2^(j-1)) up to n. The last look spends
 * FINAL_SHARE of alpha and the earlier ones halve the rest backwards (alpha_(J-1) = (1 - FINAL_SHARE) alpha / 2,
 * ...), so early looks stop only clear cases and the final bound is fixed-n's at alpha / 2.
 *
 * Before any look, when the caller gives the point's label and the selection's cA is another class, the point is
 * done: it counts toward certified accuracy at no radius, whatever the estimation draws say, so none are taken
 * (the answer is cA with no certificate: radius 0, n = 0; fixed-n CERTIFY would spend n draws to certify a wrong
 * class, or to abstain).
 *
 * Stop at look j, reporting the look's lower bound, when
 * - the certified radius already reaches the largest reported radius; or
 * - even if every remaining draw were cA, the final look's radius would stay below the next reported radius
 *   (nothing can change; abstain included: the final lower bound would stay below 1/2); or
 * - the look's upper bound of pA (same alpha_j) puts the true radius below the next reported radius: the
 *   fixed-n answer would not reach it either, except with probability alpha_j.
 */
import type * as tf from '@tensorflow/tfjs';
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { EngineError } from '../errors.js';
import { ABSTAIN, ESTIMATION_STREAM, lowerConfidenceBound, sampleUnderNoise, selectCandidate, type BaseClassifier, type Certificate, type CertifyOptions } from './smoothing.js';

/**
 * Share of alpha the last look spends. 0.5, chosen on the certified experiment's models (bench/certify-sequential.ts,
 * results/bench/avx2/certify-sequential-*.txt): 0.9 leaves the look before last too little alpha to certify
 * sigma = 0.25 at r = 0.75 (pA >= Phi(3)) from 6,400 draws, so those points took all n (passes ratio 2.87 vs 3.47).
 */
export const FINAL_SHARE = 0.5;

/** Estimation draws at the first look (Cohen et al.'s n0): looks come at 100, 200, 400, ..., n. */
export const FIRST_LOOK = 100;

export interface Look {
  /** Estimation draws taken by the end of this look. */
  readonly draws: number;
  /** Error probability this look's bounds spend. */
  readonly alpha: number;
}

/**
 * The looks for n draws starting at `first` (a multiple of `step`, so looks end on whole noise batches); the last
 * spends `finalShare` of alpha.
 */
export function lookSchedule(n: number, first: number, alpha: number, step = 1, finalShare = FINAL_SHARE): Look[] {
  if (!(Number.isInteger(n) && n > 0 && Number.isInteger(first) && first > 0)) throw new EngineError(`lookSchedule needs integers n, first > 0; got ${n}, ${first}`);
  if (!(finalShare > 0 && finalShare <= 1)) throw new EngineError(`lookSchedule needs a final share of alpha in (0, 1]; got ${finalShare}`);
  const draws: number[] = [];
  for (let m = Math.max(step, Math.ceil(first / step) * step); m < n; m *= 2) draws.push(m);
  draws.push(n);
  const J = draws.length;
  return draws.map((d, j) => ({ draws: d, alpha: j === J - 1 ? finalShare * alpha : ((1 - finalShare) * alpha) / 2 ** (J - 1 - j) }));
}

/** One-sided (1 - alpha) Clopper-Pearson upper bound of p from nA successes in n trials (1 when nA = n). */
export function upperConfidenceBound(nA: number, n: number, alpha: number): number {
  return nA === n ? 1 : betaQuantile(1 - alpha, nA + 1, n - nA);
}

export interface SequentialDecision {
  /** Radius certified (sigma * PhiInverse(lower bound)), or null when abstaining (lower bound < 1/2). */
  readonly radius: number | null;
  readonly pALower: number;
  /** cA's count and the draws taken when the procedure stopped. */
  readonly nA: number;
  readonly draws: number;
  readonly reason: 'reached the largest radius' | 'nothing left to change' | 'upper bound below the next radius' | 'all draws taken';
}

/**
 * The decision after each look; `successes(from, to)` returns how many of draws [from, to) predicted cA.
 * `radii` are the radii certified accuracy is reported at (increasing, >= 0).
 */
export function sequentialCertify(
  successes: (from: number, to: number) => number,
  o: { readonly sigma: number; readonly n: number; readonly alpha: number; readonly radii: readonly number[]; readonly first: number; readonly step?: number; readonly finalShare?: number },
): SequentialDecision {
  const looks = lookSchedule(o.n, o.first, o.alpha, o.step ?? 1, o.finalShare);
  const final = looks[looks.length - 1]!.alpha;
  const radiusOf = (p: number) => (p < 0.5 ? null : o.sigma * normalQuantile(p, 0, 1));
  const largest = o.radii[o.radii.length - 1]!;
  let nA = 0;
  let taken = 0;
  for (const [j, look] of looks.entries()) {
    nA += successes(taken, look.draws);
    taken = look.draws;
    const lower = lowerConfidenceBound(nA, taken, look.alpha);
    const radius = radiusOf(lower);
    const done = (reason: SequentialDecision['reason']): SequentialDecision => ({ radius, pALower: lower, nA, draws: taken, reason });
    if (j === looks.length - 1) return done('all draws taken');
    if (radius !== null && radius >= largest) return done('reached the largest radius');
    // The first reported radius the point is not yet certified at (abstaining: the smallest one, usually 0).
    const next = o.radii.find((r) => radius === null || r > radius)!;
    const best = radiusOf(lowerConfidenceBound(nA + (o.n - taken), o.n, final));
    if (best === null || best < next) return done('nothing left to change');
    const upper = radiusOf(upperConfidenceBound(nA, taken, look.alpha));
    if (upper === null || upper < next) return done('upper bound below the next radius');
  }
  throw new EngineError('sequentialCertify: no look');
}

export interface SequentialCertifyOptions extends CertifyOptions {
  /** Radii certified accuracy is reported at (increasing, >= 0): the rule stops once more draws cannot change which the point reaches. */
  readonly radii: readonly number[];
  /** Estimation draws at the first look (default FIRST_LOOK, at most n). */
  readonly first?: number;
  /** The point's true class: when the selection picks another, no estimation draws are taken (n = 0 in the answer). */
  readonly label?: number;
}

/**
 * CERTIFY with sequential estimation: cA from the n0 selection draws as in `certify`, then the estimation
 * draws in looks (sequentialCertify). The estimation noise is the same stream `certify` draws, batch after
 * batch (look j's draws continue the batch numbering), so when every look ends on a whole batch the draws
 * are a prefix of fixed-n CERTIFY's. `n` in the answer is the estimation draws actually taken.
 */
export function certifySequential(f: BaseClassifier, x: tf.Tensor, options: SequentialCertifyOptions): Certificate {
  const { sigma, n, alpha, radii, batchSize } = options;
  if (radii.length === 0 || radii.some((r, i) => !(r >= 0) || (i > 0 && r <= radii[i - 1]!))) {
    throw new EngineError(`sequential CERTIFY needs radii that are >= 0 and strictly increasing; got [${radii.join(', ')}]`);
  }
  if (!(Number.isInteger(options.n0) && options.n0 > 0)) throw new EngineError(`sequential CERTIFY needs n0 >= 1 selection draws; got ${options.n0}`);
  const cA = selectCandidate(f, x, options);
  if (options.label !== undefined && cA !== options.label) return { prediction: cA, radius: 0, pALower: 0, nA: 0, n: 0 };
  let batch = 0;
  const decision = sequentialCertify(
    (from, to) => {
      const counts = sampleUnderNoise(f, x, { ...options, num: to - from, stream: ESTIMATION_STREAM, firstBatch: batch });
      batch += Math.ceil((to - from) / batchSize);
      return counts[cA]!;
    },
    { sigma, n, alpha, radii, first: Math.min(options.first ?? FIRST_LOOK, n) },
  );
  const { pALower, nA, draws } = decision;
  return decision.radius === null ? { prediction: ABSTAIN, radius: 0, pALower, nA, n: draws } : { prediction: cA, radius: decision.radius, pALower, nA, n: draws };
}
