/**
 * The certify stage: randomized-smoothing certification of a fine-tuned classifier on a seeded sample of
 * its task's test split, at each sigma, with rows streamed to a resumable TSV per sigma.
 *
 * The sample's order is fixed by the plan's seed and each point's noise by (plan hash, sigma, point), so
 * the stage can also be cut into shards (`certifyShard`: positions [from, to) of that order at one sigma)
 * that run anywhere and write exactly the rows the whole stage writes for those points.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CertifyStage, RunResult } from '../../dsl/plan-types.js';
import { loadDownstreamTask, toFloat01 } from '../../datasets/index.js';
import { certifyDatasetAsync, certifiedAccuracy, abstainRate, type CertifiedPoint } from './dataset.js';
import { classifierLogits, type Classifier } from '../finetune/classifier.js';
import { EngineError } from '../errors.js';
import type { ProgressSink } from '../progress.js';
import { SeededRandom } from '../random.js';

export type CertifySettings = Pick<CertifyStage, 'task' | 'sigmas' | 'n0' | 'n' | 'alpha' | 'radii' | 'points' | 'batchSize' | 'sequential'> & {
  /** The plan's seed: it draws the sample of test points (and their order). */
  readonly seed: number;
  /** The plan's hash: with sigma and the point, it seeds each point's noise. */
  readonly planHash: string;
};

/** The points a certify stage certifies: the first `points` of a seeded permutation of the task's test split. */
export interface CertificationPoints {
  readonly inputs: Float32Array;
  readonly inputShape: readonly number[];
  readonly labels: ArrayLike<number>;
  readonly numClasses: number;
  /** Data-set indices of the sample, in certification order. */
  readonly indices: Int32Array;
}

export function certificationPoints(task: string, seed: number, points: number): CertificationPoints {
  const d = loadDownstreamTask(task, { seed });
  if (d.kind !== 'image') throw new EngineError(`certify: task ${task} is not an image task`);
  const order = new SeededRandom(seed, 13).shuffle(Int32Array.from({ length: d.test.count }, (_, i) => i));
  return { inputs: toFloat01(d.test), inputShape: [d.height, d.width, 1], labels: d.test.labels, numClasses: d.numClasses, indices: order.subarray(0, Math.min(points, d.test.count)) };
}

/**
 * Certifies `classifier` on the first `points` of a seeded permutation of the task's test split at each
 * sigma, streaming rows to `tsvPath(task, sigma)` (resumable), and returns certified accuracy by radius,
 * with the noisy passes this call ran (rows read back from a TSV cost none).
 */
export async function certifyClassifier(
  cs: CertifySettings,
  classifier: Classifier,
  tsvPath: (task: string, sigma: number) => string,
  progress: ProgressSink | undefined,
  log: (line: string) => void,
): Promise<{ certified: NonNullable<RunResult['certify']>; passesRun: number }> {
  const t0 = performance.now();
  const data = certificationPoints(cs.task, cs.seed, cs.points);
  const total = data.indices.length;
  const rows: { sigma: number; radius: number; certifiedAccuracy: number }[] = [];
  const abstain: number[] = [];
  const passes: number[] = [];
  let passesRun = 0;
  for (const sigma of cs.sigmas) {
    const started = performance.now();
    const points = await certifyShard(cs, classifier, data, {
      sigma,
      from: 0,
      to: total,
      tsvPath: tsvPath(cs.task, sigma),
      onPoint: (row, done, _total, fresh) => {
        if (fresh) passesRun += cs.n0 + row.n;
        if (progress && (done % 10 === 0 || done === total)) {
          const secs = (performance.now() - started) / 1000;
          progress({ stage: 'certify', label: `sigma=${sigma}`, step: done, total, perSecond: done / secs, etaSeconds: ((total - done) * secs) / done, fields: {} });
        }
      },
    });
    const acc = certifiedAccuracy(points, cs.radii);
    cs.radii.forEach((r, i) => rows.push({ sigma, radius: r, certifiedAccuracy: acc[i]! }));
    abstain.push(abstainRate(points));
    passes.push(points.reduce((a, p) => a + cs.n0 + p.n, 0));
    const fixed = total * (cs.n0 + cs.n);
    const saved = cs.sequential ? ` (sequential: ${passes.at(-1)} noisy passes, ${(fixed / passes.at(-1)!).toFixed(2)}x fewer than fixed n)` : '';
    log(`[certify] sigma=${sigma}: certified accuracy ${cs.radii.map((r, i) => `r=${r}: ${(acc[i]! * 100).toFixed(1)}%`).join(', ')}${saved}`);
  }
  return { certified: { task: cs.task, sigmas: [...cs.sigmas], radii: [...cs.radii], rows, abstainRate: abstain, passes, seconds: (performance.now() - t0) / 1000, points: total }, passesRun };
}

export interface ShardOptions {
  readonly sigma: number;
  /** First position in the sample's order (inclusive). */
  readonly from: number;
  /** Last position (exclusive). */
  readonly to: number;
  /** The TSV the shard's rows stream to (and resume from). */
  readonly tsvPath: string;
  readonly onPoint?: (row: CertifiedPoint, done: number, total: number, fresh: boolean) => void;
  /** Stops before the next point once aborted (the rows written so far are kept for a resume). */
  readonly signal?: AbortSignal;
}

/**
 * Certifies positions [from, to) of the sample at one sigma: the rows a whole-stage run writes for these
 * points, identical but for `seconds`, wherever this runs (on the same backend).
 */
export async function certifyShard(
  cs: Pick<CertifySettings, 'n0' | 'n' | 'alpha' | 'batchSize' | 'planHash' | 'sequential' | 'radii'>,
  classifier: Classifier,
  data: CertificationPoints,
  shard: ShardOptions,
): Promise<CertifiedPoint[]> {
  const { sigma, from, to, tsvPath } = shard;
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= data.indices.length)) {
    throw new EngineError(`a certification shard needs integers 0 <= from < to <= ${data.indices.length} (the sample's size); got from ${from}, to ${to}`);
  }
  mkdirSync(dirname(tsvPath), { recursive: true });
  return certifyDatasetAsync({
    f: (x: tf.Tensor) => classifierLogits(classifier, x),
    inputs: data.inputs,
    inputShape: data.inputShape,
    labels: data.labels,
    indices: Array.from(data.indices.subarray(from, to)),
    sigma,
    n0: cs.n0,
    n: cs.n,
    alpha: cs.alpha,
    batchSize: cs.batchSize,
    numClasses: data.numClasses,
    planHash: cs.planHash,
    tsvPath,
    ...(cs.sequential ? { sequential: { radii: cs.radii } } : {}),
    ...(shard.onPoint ? { onPoint: shard.onPoint } : {}),
    ...(shard.signal ? { signal: shard.signal } : {}),
  });
}
