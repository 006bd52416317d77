/**
 * CERTIFY over a test set, as Cohen et al.'s `certify.py`: one TSV row per point, written as soon as the
 * point is certified (so a long run can be watched with `tail -f`), and resumable after a kill.
 *
 * Point i's noise at sigma is seeded by (plan hash, sigma, i) alone (pointSeed), so any range of points
 * can be certified anywhere, in any order, by any process: a row computed after a restart, or on another
 * machine of a worker pool, equals the row an uninterrupted local run writes (all columns but `seconds`),
 * given the same options and backend (batchSize included). The file records no options: one TSV per
 * configuration (a resumed file whose rows were drawn with another n is refused).
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { ABSTAIN, certify, type BaseClassifier } from './smoothing.js';
import { certifySequential } from './sequential.js';
import { deriveSeed } from '../backend/device-random.js';
import { EngineError } from '../errors.js';

/** One certified test point: one TSV row. */
export interface CertifiedPoint {
  /** Position of the point in the data set. */
  readonly index: number;
  readonly label: number;
  /** cA, or -1 (ABSTAIN). */
  readonly prediction: number;
  readonly radius: number;
  /** prediction === label (never for an abstention). */
  readonly correct: boolean;
  /** Wall-clock seconds spent certifying this point. */
  readonly seconds: number;
  /** Count of the predicted class among the n estimation draws (for an abstention: of the class the n0 selection draws chose). */
  readonly nA: number;
  /** Estimation draws (fewer than the configured n when sequential CERTIFY stopped early; 0 when it stopped at a wrong selection). */
  readonly n: number;
}

export interface CertifyDatasetOptions {
  readonly f: BaseClassifier;
  /** All points, row-major: inputs.length = numPoints * prod(inputShape). */
  readonly inputs: Float32Array;
  /** Shape of one point, without a batch axis (e.g. [28, 28, 1]). */
  readonly inputShape: readonly number[];
  readonly labels: ArrayLike<number>;
  /** Which points to certify, in this order. */
  readonly indices: readonly number[];
  readonly sigma: number;
  readonly n0: number;
  readonly n: number;
  readonly alpha: number;
  readonly batchSize: number;
  readonly numClasses: number;
  /** Names the noise: point i draws from pointSeed(planHash, sigma, i). The engine passes the plan's hash; any string works. */
  readonly planHash: string;
  /** The TSV to write (and resume from). */
  readonly tsvPath: string;
  /** Called after each point, e.g. for a progress line; `fresh` is false for a row read back from the TSV. */
  readonly onPoint?: (row: CertifiedPoint, done: number, total: number, fresh: boolean) => void;
  /** certifyDatasetAsync stops before the next point once this is aborted (rows written so far are kept). */
  readonly signal?: AbortSignal;
  /**
   * Sequential CERTIFY (certifySequential), stopping once more draws cannot change which of these radii a point
   * counts toward in certified accuracy; each row's `n` is then the draws it took (at most n), and 0 for a point
   * whose selected class is not its label (no certificate; it would count at no radius). Fixed-n CERTIFY when absent.
   */
  readonly sequential?: { readonly radii: readonly number[] };
}

/**
 * The TSV header: Cohen's columns (`idx label predict radius correct time`, named as below) and then
 * `nA` (the count behind the radius) and `n` (the estimation draws it was counted among).
 */
export const CERTIFY_TSV_HEADER = 'index\tlabel\tprediction\tradius\tcorrect\tseconds\tnA\tn';

/** The header before `nA` and `n` were added (and before noise was seeded by plan hash and sigma). */
const OLD_TSV_HEADER = 'index\tlabel\tprediction\tradius\tcorrect\tseconds';

/**
 * The seed of point `index`'s noise at `sigma` in the run named `planHash`: a function of these three alone,
 * so a point gets the same draws wherever, whenever and in whatever company it is certified.
 */
export function pointSeed(planHash: string, sigma: number, index: number): number {
  const h = createHash('sha256').update(planHash, 'utf8').digest();
  const bits = new DataView(new Float64Array([sigma === 0 ? 0 : sigma]).buffer);
  return deriveSeed(h.readUInt32LE(0), h.readUInt32LE(4), bits.getUint32(0, true), bits.getUint32(4, true), index);
}

/**
 * Certifies every point of `indices`, appending one fsync'ed row per point to `tsvPath`. Rows already in
 * the file (complete lines; a torn last line from a killed process is cut off) are kept and their points
 * skipped. Returns the rows of `indices`, in that order.
 */
export function certifyDataset(options: CertifyDatasetOptions): CertifiedPoint[] {
  const run = startCertification(options);
  try {
    while (run.next());
  } finally {
    run.close();
  }
  return run.rows;
}

/**
 * certifyDataset that returns to the event loop after each point, so that a process certifying for hours
 * stays responsive (a worker of the pool keeps renewing its job's lock, a signal handler runs), and that
 * stops before the next point once `options.signal` is aborted (throwing its reason).
 */
export async function certifyDatasetAsync(options: CertifyDatasetOptions): Promise<CertifiedPoint[]> {
  const run = startCertification(options);
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      if (!run.next()) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    run.close();
  }
  return run.rows;
}

/** One certification in progress: `next()` certifies (or reads back) the next point, false when all are done. */
function startCertification(options: CertifyDatasetOptions): { next(): boolean; close(): void; rows: CertifiedPoint[] } {
  const { f, inputs, inputShape, labels, indices, tsvPath, onPoint, planHash, sigma } = options;
  const pointSize = inputShape.reduce((a, b) => a * b, 1);
  const numPoints = inputs.length / pointSize;
  if (!Number.isInteger(numPoints)) throw new EngineError(`inputs hold ${inputs.length} values, not a whole number of points of shape [${inputShape.join(', ')}]`);
  for (const i of indices) {
    if (!(Number.isInteger(i) && i >= 0 && i < numPoints && i < labels.length)) throw new EngineError(`point index ${i} is outside the data set (${Math.min(numPoints, labels.length)} points)`);
  }
  const { done, hasHeader } = resumeTsv(tsvPath, options.n, options.sequential !== undefined);
  const fd = openSync(tsvPath, 'a');
  const rows: CertifiedPoint[] = [];
  let k = 0;
  try {
    if (!hasHeader) appendLine(fd, CERTIFY_TSV_HEADER);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return {
    rows,
    close: () => closeSync(fd),
    next: () => {
      if (k >= indices.length) return false;
      const index = indices[k++]!;
      let row = done.get(index);
      const fresh = !row;
      if (!row) {
        const start = performance.now();
        const x = tf.tensor(inputs.subarray(index * pointSize, (index + 1) * pointSize), inputShape.slice(), 'float32');
        const certificate = (() => {
          try {
            const seeded = { ...options, seed: pointSeed(planHash, sigma, index) };
            return options.sequential ? certifySequential(f, x, { ...seeded, radii: options.sequential.radii, label: labels[index]! }) : certify(f, x, seeded);
          } finally {
            x.dispose();
          }
        })();
        const label = labels[index]!;
        row = {
          index,
          label,
          prediction: certificate.prediction,
          radius: certificate.radius,
          correct: certificate.prediction !== ABSTAIN && certificate.prediction === label,
          seconds: (performance.now() - start) / 1000,
          nA: certificate.nA,
          n: certificate.n,
        };
        appendLine(fd, formatRow(row));
        done.set(index, row);
      }
      rows.push(row);
      onPoint?.(row, rows.length, indices.length, fresh);
      return true;
    },
  };
}

/** Certified accuracy at each radius r: the fraction of rows certified with the true label and radius >= r. */
export function certifiedAccuracy(rows: readonly CertifiedPoint[], radii: readonly number[]): number[] {
  if (rows.length === 0) return radii.map(() => 0);
  return radii.map((r) => rows.filter((row) => row.correct && row.radius >= r).length / rows.length);
}

/**
 * Fraction of rows where CERTIFY abstained, among the rows it estimated: every row for fixed-n CERTIFY; sequential
 * CERTIFY takes no estimation draws (n = 0) where the selected class is not the label, and cannot have abstained there.
 */
export function abstainRate(rows: readonly CertifiedPoint[]): number {
  const estimated = rows.filter((row) => row.n > 0);
  if (estimated.length === 0) return 0;
  return estimated.filter((row) => row.prediction === ABSTAIN).length / estimated.length;
}

/** The TSV text of `rows`: the header, then one line per row, in the given order. */
export function formatCertifyTsv(rows: readonly CertifiedPoint[]): string {
  return [CERTIFY_TSV_HEADER, ...rows.map(formatRow)].join('\n') + '\n';
}

/** The complete rows of a certification TSV's text (a torn last line is left out); `where` names it in errors. */
export function parseCertifyTsv(text: string, where: string): CertifiedPoint[] {
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  if (complete.length === 0) return [];
  const lines = complete.split('\n').slice(0, -1);
  if (lines[0] === OLD_TSV_HEADER) {
    throw new EngineError(
      `${where} was written by an older robustlab: it has no nA and n columns and its noise was seeded differently, so it cannot be read or resumed; move it away (or delete it) to certify these points again`,
    );
  }
  if (lines[0] !== CERTIFY_TSV_HEADER) {
    throw new EngineError(`${where} exists but is not a certification TSV (its first line is not '${CERTIFY_TSV_HEADER.replaceAll('\t', ' ')}'); delete it or choose another path`);
  }
  return lines.slice(1).map((line, k) => {
    const cells = line.split('\t');
    const values = cells.map(Number);
    const [index, label, prediction, radius, correct, seconds, nA, n] = values;
    if (cells.length !== 8 || values.some((v) => !Number.isFinite(v))) {
      throw new EngineError(`${where} line ${k + 2} is not a certification row ('${line.slice(0, 80)}'); delete the file to start over`);
    }
    return { index: index!, label: label!, prediction: prediction!, radius: radius!, correct: correct === 1, seconds: seconds!, nA: nA!, n: n! };
  });
}

/** Radii are written with full precision (shortest round-trip form), so resumed rows read back exactly. */
function formatRow(row: CertifiedPoint): string {
  return [row.index, row.label, row.prediction, row.radius, row.correct ? 1 : 0, row.seconds.toFixed(4), row.nA, row.n].join('\t');
}

function appendLine(fd: number, line: string): void {
  writeSync(fd, line + '\n');
  fsyncSync(fd);
}

/**
 * Reads the complete rows of an existing TSV and cuts off a torn last line (no trailing newline), so
 * appending continues on a clean line. A missing or empty file yields no rows; rows drawn with another
 * n (another configuration's file) are refused: sequential rows may have taken fewer draws, never more.
 */
function resumeTsv(path: string, n: number, sequential: boolean): { done: Map<number, CertifiedPoint>; hasHeader: boolean } {
  const rows = new Map<number, CertifiedPoint>();
  if (!existsSync(path)) return { done: rows, hasHeader: false };
  const text = readFileSync(path, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  if (complete.length !== text.length) truncateSync(path, Buffer.byteLength(complete, 'utf8'));
  if (complete.length === 0) return { done: rows, hasHeader: false };
  for (const row of parseCertifyTsv(complete, path)) {
    if (sequential ? row.n > n : row.n !== n) {
      throw new EngineError(`${path} holds rows certified with n = ${row.n}, not ${sequential ? `at most ${n}` : n}: one TSV per configuration; choose another path or delete it`);
    }
    rows.set(row.index, row);
  }
  return { done: rows, hasHeader: true };
}
