/**
 * Task weights of the task-robust (minimax) objective, in float64 on the host: the reference for the
 * device-side minimax step (minimax.ts), used by theory/ and the tests.
 *
 * Softmax-weighted gradient descent descends F_eta(theta) = (1/eta) log sum_i exp(eta L_i(theta)),
 * whose gradient is sum_i p_i grad L_i with p = softmax(eta * L). Since
 * max_i L_i <= F_eta <= max_i L_i + log(k)/eta, large eta approaches min-max training and
 * eta = 0 is exactly average training (p uniform).
 */

/**
 * p = softmax(eta * losses), computed stably in float64 (the max is subtracted before exp, so
 * no overflow for any finite eta * loss). eta = 0 returns exactly 1/k for every task.
 */
export function softmaxTaskWeights(losses: ArrayLike<number>, eta: number): Float64Array {
  const k = losses.length;
  if (k === 0) throw new RangeError('softmaxTaskWeights: need at least one task loss');
  if (!(eta >= 0) || !Number.isFinite(eta)) throw new RangeError(`softmaxTaskWeights: eta must be finite and >= 0, got ${eta}`);
  const p = new Float64Array(k);
  if (eta === 0) return p.fill(1 / k);
  let max = -Infinity;
  for (let i = 0; i < k; i++) {
    const l = losses[i]!;
    if (!Number.isFinite(l)) throw new RangeError(`softmaxTaskWeights: loss of task ${i} is ${l}`);
    if (l > max) max = l;
  }
  let sum = 0;
  for (let i = 0; i < k; i++) {
    p[i] = Math.exp(eta * (losses[i]! - max));
    sum += p[i]!;
  }
  for (let i = 0; i < k; i++) p[i]! /= sum;
  return p;
}

/**
 * One exponentiated-gradient step of Group DRO (Sagawa et al. 2020): p <- p * exp(eta * l), normalised.
 * Computed in log space so weights never underflow to an all-zero vector.
 */
export function groupDroStep(weights: ArrayLike<number>, losses: ArrayLike<number>, eta: number): Float64Array {
  const k = losses.length;
  if (weights.length !== k) throw new RangeError(`groupDroStep: ${weights.length} weights for ${k} losses`);
  const logits = new Float64Array(k);
  for (let i = 0; i < k; i++) logits[i] = Math.log(Math.max(weights[i]!, Number.MIN_VALUE)) + eta * losses[i]!;
  return softmaxTaskWeights(logits, 1);
}

/** F_eta(L) = (1/eta) log sum_i exp(eta L_i), the smooth max the softmax weighting descends; eta = 0 gives the mean. */
export function smoothMax(losses: ArrayLike<number>, eta: number): number {
  const k = losses.length;
  let max = -Infinity;
  let mean = 0;
  for (let i = 0; i < k; i++) {
    max = Math.max(max, losses[i]!);
    mean += losses[i]! / k;
  }
  if (eta === 0) return mean;
  let s = 0;
  for (let i = 0; i < k; i++) s += Math.exp(eta * (losses[i]! - max));
  return max + Math.log(s) / eta;
}

/**
 * What the weights see of the task losses (float64 reference of minimax.ts): 'raw' losses (the paper),
 * 'relative' to each task's first-step loss, or 'excess' over a per-task reference loss.
 */
export function normalisedLosses(losses: ArrayLike<number>, mode: 'raw' | 'relative' | 'excess', initial: ArrayLike<number>, references: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: losses.length }, (_, i) =>
    mode === 'relative' ? losses[i]! / initial[i]! : mode === 'excess' ? losses[i]! - references[i]! : losses[i]!,
  );
}

/** One exponential-moving-average step: ema * previous + (1 - ema) * current (the current values when there is no previous). */
export function emaStep(previous: ArrayLike<number> | null, current: ArrayLike<number>, ema: number): Float64Array {
  return Float64Array.from({ length: current.length }, (_, i) => (previous ? ema * previous[i]! + (1 - ema) * current[i]! : current[i]!));
}
