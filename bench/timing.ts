/**
 * Wall-clock timing of a synchronous step: `warmup` untimed runs, then up to `iters` timed runs.
 * Medians, not means: the machine may be shared, and a median ignores the odd preempted iteration.
 * Both tfjs backends measured here execute ops synchronously (native TensorFlow's eager CPU runtime,
 * and wasm), so a step's wall time is its compute time, as with PyTorch on CPU.
 */
export interface Timing {
  readonly samplesMs: readonly number[];
  readonly medianMs: number;
}

export interface TimingOptions {
  readonly warmup: number;
  readonly iters: number;
  /** Stop early (after at least `minIters` timed runs) once this much time has gone into timed runs. */
  readonly maxSeconds?: number;
  /** Default 3. */
  readonly minIters?: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function timeSteps(step: () => void, { warmup, iters, maxSeconds = Infinity, minIters = 3 }: TimingOptions): Timing {
  for (let i = 0; i < warmup; i++) step();
  const samplesMs: number[] = [];
  let spent = 0;
  while (samplesMs.length < iters && (samplesMs.length < minIters || spent < maxSeconds * 1000)) {
    const t0 = performance.now();
    step();
    const ms = performance.now() - t0;
    samplesMs.push(ms);
    spent += ms;
  }
  return { samplesMs, medianMs: median(samplesMs) };
}
