/**
 * CERTIFY over a test set, as Cohen et al.'s `certify.py`: one TSV row per point, written as soon as the
 * point is certified (so a long run can be watched with `tail -f`), and resumable after a kill.
 *
 * Resumption is exact: point i's noise depends only on (seed, i) (deriveSeed), so a row computed after a
 * restart equals the row an uninterrupted run would have written (all columns but `seconds`) — given the
 * same options and backend (batchSize included). The file records no options: one TSV per configuration.
 */
import * as tf from '@tensorflow/tfjs';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { ABSTAIN, certify, type BaseClassifier } from './smoothing.js';
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
  /** The experiment's seed; point i uses deriveSeed(seed, i). */
  readonly seed: number;
  /** The TSV to write (and resume from). */
  readonly tsvPath: string;
  /** Called after each point (resumed points included), e.g. for a progress line. */
  readonly onPoint?: (row: CertifiedPoint, done: number, total: number) => void;
}

/** The TSV header, Cohen's columns plus the point's label-correctness: `index label prediction radius correct seconds`. */
export const CERTIFY_TSV_HEADER = 'index\tlabel\tprediction\tradius\tcorrect\tseconds';

/**
 * Certifies every point of `indices`, appending one fsync'ed row per point to `tsvPath`. Rows already in
 * the file (complete lines; a torn last line from a killed process is cut off) are kept and their points
 * skipped. Returns the rows of `indices`, in that order.
 */
export function certifyDataset(options: CertifyDatasetOptions): CertifiedPoint[] {
  const { f, inputs, inputShape, labels, indices, tsvPath, onPoint } = options;
  const pointSize = inputShape.reduce((a, b) => a * b, 1);
  const numPoints = inputs.length / pointSize;
  if (!Number.isInteger(numPoints)) throw new EngineError(`inputs hold ${inputs.length} values, not a whole number of points of shape [${inputShape.join(', ')}]`);
  for (const i of indices) {
    if (!(Number.isInteger(i) && i >= 0 && i < numPoints && i < labels.length)) throw new EngineError(`point index ${i} is outside the data set (${Math.min(numPoints, labels.length)} points)`);
  }
  const { done, hasHeader } = resumeTsv(tsvPath);
  const fd = openSync(tsvPath, 'a');
  const rows: CertifiedPoint[] = [];
  try {
    if (!hasHeader) appendLine(fd, CERTIFY_TSV_HEADER);
    for (const index of indices) {
      let row = done.get(index);
      if (!row) {
        const start = performance.now();
        const x = tf.tensor(inputs.subarray(index * pointSize, (index + 1) * pointSize), inputShape.slice(), 'float32');
        const certificate = (() => {
          try {
            return certify(f, x, { ...options, seed: deriveSeed(options.seed, index) });
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
        };
        appendLine(fd, formatRow(row));
        done.set(index, row);
      }
      rows.push(row);
      onPoint?.(row, rows.length, indices.length);
    }
  } finally {
    closeSync(fd);
  }
  return rows;
}

/** Certified accuracy at each radius r: the fraction of rows certified with the true label and radius >= r. */
export function certifiedAccuracy(rows: readonly CertifiedPoint[], radii: readonly number[]): number[] {
  if (rows.length === 0) return radii.map(() => 0);
  return radii.map((r) => rows.filter((row) => row.correct && row.radius >= r).length / rows.length);
}

/** Fraction of rows where CERTIFY abstained. */
export function abstainRate(rows: readonly CertifiedPoint[]): number {
  if (rows.length === 0) return 0;
  return rows.filter((row) => row.prediction === ABSTAIN).length / rows.length;
}

/** Radii are written with full precision (shortest round-trip form), so resumed rows read back exactly. */
function formatRow(row: CertifiedPoint): string {
  return [row.index, row.label, row.prediction, row.radius, row.correct ? 1 : 0, row.seconds.toFixed(4)].join('\t');
}

function appendLine(fd: number, line: string): void {
  writeSync(fd, line + '\n');
  fsyncSync(fd);
}

/**
 * Reads the complete rows of an existing TSV and cuts off a torn last line (no trailing newline), so
 * appending continues on a clean line. A missing or empty file yields no rows.
 */
function resumeTsv(path: string): { done: Map<number, CertifiedPoint>; hasHeader: boolean } {
  const rows = new Map<number, CertifiedPoint>();
  if (!existsSync(path)) return { done: rows, hasHeader: false };
  const text = readFileSync(path, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  if (complete.length !== text.length) truncateSync(path, Buffer.byteLength(complete, 'utf8'));
  if (complete.length === 0) return { done: rows, hasHeader: false };
  const lines = complete.split('\n').slice(0, -1);
  if (lines[0] !== CERTIFY_TSV_HEADER) {
    throw new EngineError(`${path} exists but is not a certification TSV (its first line is not '${CERTIFY_TSV_HEADER.replaceAll('\t', ' ')}'); delete it or choose another path`);
  }
  for (const [k, line] of lines.slice(1).entries()) {
    const cells = line.split('\t');
    const [index, label, prediction, radius, correct, seconds] = cells.map(Number);
    if (cells.length !== 6 || [index, label, prediction, radius, correct, seconds].some((v) => !Number.isFinite(v))) {
      throw new EngineError(`${path} line ${k + 2} is not a certification row ('${line.slice(0, 80)}'); delete the file to start over`);
    }
    rows.set(index!, { index: index!, label: label!, prediction: prediction!, radius: radius!, correct: correct === 1, seconds: seconds! });
  }
  return { done: rows, hasHeader: true };
}
