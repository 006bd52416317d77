/**
 * Wall-clock timing of a row: our synchronous step interleaved with a rival's (PyTorch's) timed blocks.
 * Medians, not means: the machine may be shared, and a median ignores the odd preempted iteration.
 * Both tfjs backends measured here execute ops synchronously (native TensorFlow's eager CPU runtime,
 * and wasm), so a step's wall time is its compute time, as with PyTorch on CPU.
 */
export interface Timing {
  readonly samplesMs: readonly number[];
  readonly medianMs: number;
}

export interface TimingOptions {
  /** Untimed runs of our step before the first round (the rival warms up on its own). */
  readonly warmup: number;
  /** Timed runs of our step, split across the rounds. */
  readonly iters: number;
  /** Stop early (after at least `minIters` timed runs) once this much time has gone into our timed runs. */
  readonly maxSeconds?: number;
  /** Default 3. */
  readonly minIters?: number;
}

/** Rounds per row (fewer when a row has fewer timed iterations, or stops early at `maxSeconds`). */
export const ROUNDS = 5;

/** Times `n` more iterations of the rival's already built and warmed-up step; their wall times in ms. */
export type Rival = (n: number) => Promise<readonly number[]>;

export interface RowTiming {
  readonly ours: Timing;
  /** Null without a rival or when it failed. */
  readonly rival: Timing | null;
  /** The rival's error; it is dropped from the row's remaining rounds. */
  readonly rivalError: string | null;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * `warmup` untimed runs of `step`, then up to ROUNDS rounds, each a block of our timed runs followed at
 * once by the rival timing as many of its own, so both sides see the same machine load. The blocks
 * split `iters` evenly, so each side gets `iters` timed runs in all (fewer if `maxSeconds` cuts ours short).
 */
export async function timeRounds(step: () => void, rival: Rival | null, { warmup, iters, maxSeconds = Infinity, minIters = 3 }: TimingOptions): Promise<RowTiming> {
  for (let i = 0; i < warmup; i++) step();
  const ours: number[] = [];
  const theirs: number[] = [];
  let rivalError: string | null = null;
  let spent = 0;
  const rounds = Math.min(ROUNDS, iters);
  for (let r = 1; r <= rounds; r++) {
    const start = ours.length;
    const end = Math.round((r * iters) / rounds);
    while (ours.length < end && (ours.length < minIters || spent < maxSeconds * 1000)) {
      const t0 = performance.now();
      step();
      const ms = performance.now() - t0;
      ours.push(ms);
      spent += ms;
    }
    if (ours.length === start) break;
    if (rival !== null && rivalError === null) {
      try {
        theirs.push(...(await rival(ours.length - start)));
      } catch (e) {
        rivalError = (e as Error).message;
      }
    }
  }
  const timing = (xs: readonly number[]): Timing => ({ samplesMs: xs, medianMs: median(xs) });
  return { ours: timing(ours), rival: rival === null || rivalError !== null ? null : timing(theirs), rivalError };
}
