/**
 * The certify stage: randomized-smoothing certification of a fine-tuned classifier on a seeded sample of
 * its task's test split, at each sigma, with rows streamed to a resumable TSV per sigma.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CertifyStage, RunResult } from '../../dsl/plan-types.js';
import { loadDownstreamTask, toFloat01 } from '../../datasets/index.js';
import { certifyDataset, certifiedAccuracy, abstainRate } from './dataset.js';
import { classifierLogits, type Classifier } from '../finetune/classifier.js';
import { EngineError } from '../errors.js';
import type { ProgressSink } from '../progress.js';
import { SeededRandom } from '../random.js';

export type CertifySettings = Pick<CertifyStage, 'task' | 'sigmas' | 'n0' | 'n' | 'alpha' | 'radii' | 'points' | 'batchSize'> & { readonly seed: number };

/**
 * Certifies `classifier` on the first `points` of a seeded permutation of the task's test split at each
 * sigma, streaming rows to `tsvPath(task, sigma)` (resumable), and returns certified accuracy by radius.
 */
export async function certifyClassifier(
  cs: CertifySettings,
  classifier: Classifier,
  tsvPath: (task: string, sigma: number) => string,
  progress: ProgressSink | undefined,
  log: (line: string) => void,
): Promise<NonNullable<RunResult['certify']>> {
  const t0 = performance.now();
  const d = loadDownstreamTask(cs.task, { seed: cs.seed });
  if (d.kind !== 'image') throw new EngineError(`certify: task ${cs.task} is not an image task`);
  const inputs = toFloat01(d.test);
  const order = new SeededRandom(cs.seed, 13).shuffle(Int32Array.from({ length: d.test.count }, (_, i) => i));
  const indices = order.subarray(0, Math.min(cs.points, d.test.count));
  const f = (x: tf.Tensor) => classifierLogits(classifier, x);
  const rows: { sigma: number; radius: number; certifiedAccuracy: number }[] = [];
  const abstain: number[] = [];
  for (const sigma of cs.sigmas) {
    const started = performance.now();
    mkdirSync(dirname(tsvPath(cs.task, sigma)), { recursive: true });
    const points = await certifyDataset({
      f,
      inputs,
      inputShape: [d.height, d.width, 1],
      labels: d.test.labels,
      indices: Array.from(indices),
      sigma,
      n0: cs.n0,
      n: cs.n,
      alpha: cs.alpha,
      batchSize: cs.batchSize,
      numClasses: d.numClasses,
      seed: cs.seed,
      tsvPath: tsvPath(cs.task, sigma),
      onPoint: (row: unknown, done: number) => {
        if (progress && (done % 10 === 0 || done === indices.length)) {
          const secs = (performance.now() - started) / 1000;
          progress({ stage: 'certify', label: `sigma=${sigma}`, step: done, total: indices.length, perSecond: done / secs, etaSeconds: ((indices.length - done) * secs) / done, fields: {} });
        }
        void row;
      },
    });
    const acc = certifiedAccuracy(points, cs.radii);
    cs.radii.forEach((r, i) => rows.push({ sigma, radius: r, certifiedAccuracy: acc[i]! }));
    abstain.push(abstainRate(points));
    log(`[certify] sigma=${sigma}: certified accuracy ${cs.radii.map((r, i) => `r=${r}: ${(acc[i]! * 100).toFixed(1)}%`).join(', ')}`);
  }
  return { task: cs.task, sigmas: [...cs.sigmas], radii: [...cs.radii], rows, abstainRate: abstain, seconds: (performance.now() - t0) / 1000, points: indices.length };
}
