import * as tf from '@tensorflow/tfjs';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../engine/backend/selection.js';
import { ABSTAIN, type BaseClassifier } from '../../../engine/certify/smoothing.js';
import {
  abstainRate,
  CERTIFY_TSV_HEADER,
  certifiedAccuracy,
  certifyDataset,
  certifyDatasetAsync,
  parseCertifyTsv,
  pointSeed,
  type CertifiedPoint,
  type CertifyDatasetOptions,
} from '../../../engine/certify/dataset.js';

const dir = mkdtempSync(join(tmpdir(), 'robustlab-certify-'));
beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** f(x) = [x0 + x1 > 0], as 2-class logits; counts its noisy forward passes. */
function countingLinearClassifier(): { f: BaseClassifier; passes: () => number } {
  let passes = 0;
  const f: BaseClassifier = (batch) => {
    passes += batch.shape[0]!;
    return tf.tidy(() => {
      const z = batch.sum(1, true);
      return tf.concat([z.neg(), z], 1) as tf.Tensor2D;
    });
  };
  return { f, passes: () => passes };
}

// 12 points on the diagonal at signed distances -1, -0.8, .., 1.2 from the line x0 + x1 = 0; labels are the
// true side except point 11, mislabeled on purpose.
const NUM = 12;
const inputs = new Float32Array(NUM * 2);
const labels = new Int32Array(NUM);
for (let i = 0; i < NUM; i++) {
  const d = -1 + 0.2 * i;
  inputs[2 * i] = inputs[2 * i + 1] = d / Math.SQRT2;
  labels[i] = d > 0 ? 1 : 0;
}
labels[11] = 0;

function options(tsvPath: string, f: BaseClassifier, indices = [...Array(NUM).keys()]): CertifyDatasetOptions {
  return { f, inputs, inputShape: [2], labels, indices, sigma: 0.5, n0: 50, n: 500, alpha: 0.01, batchSize: 250, numClasses: 2, planHash: 'a1b2c3d4e5f60718', tsvPath };
}

const withoutSeconds = (rows: readonly CertifiedPoint[]) => rows.map(({ seconds: _s, ...rest }) => rest);
const tsvWithoutSeconds = (text: string) =>
  text
    .split('\n')
    .map((line) => line.split('\t').filter((_, i) => i !== 5).join('\t'))
    .join('\n');

describe('certifyDataset', () => {
  it('streams one row per point to the TSV, header first, with certified radii that respect the true distances', () => {
    const path = join(dir, 'full.tsv');
    const { f, passes } = countingLinearClassifier();
    const seen: number[] = [];
    const rows = certifyDataset({ ...options(path, f), onPoint: (row, done, total) => seen.push(row.index, done, total) });
    expect(passes()).toBe(NUM * (50 + 500));
    expect(seen.slice(-3)).toEqual([11, NUM, NUM]);
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines[0]).toBe(CERTIFY_TSV_HEADER);
    expect(lines.length).toBe(NUM + 2); // header, rows, and the empty string after the last newline
    expect(lines.at(-1)).toBe('');
    for (const [k, row] of rows.entries()) {
      expect(row.index).toBe(k);
      const trueDistance = Math.abs(-1 + 0.2 * k);
      if (row.prediction !== ABSTAIN) expect(row.radius).toBeLessThanOrEqual(trueDistance);
      const cells = lines[k + 1]!.split('\t').map(Number);
      expect([...cells.slice(0, 5), ...cells.slice(6)]).toEqual([row.index, row.label, row.prediction, row.radius, row.correct ? 1 : 0, row.nA, 500]);
      expect(row.n).toBe(500);
      expect(row.nA).toBeGreaterThanOrEqual(0);
      expect(row.nA).toBeLessThanOrEqual(500);
    }
    // The point on the line (index 5, a coin flip) abstains; the far ones are certified with their true class.
    expect(rows[5]!.prediction).toBe(ABSTAIN);
    expect(rows[0]).toMatchObject({ prediction: 0, correct: true });
    expect(rows[10]).toMatchObject({ prediction: 1, correct: true });
    expect(rows[11]).toMatchObject({ prediction: 1, label: 0, correct: false });
    // nA is the count behind the radius: a point far from the line is certified with (nearly) all n draws.
    expect(rows[0]!.nA).toBeGreaterThan(490);
  });

  it('seeds each point by (plan hash, sigma, index): any subset, in any order, gives the same rows', () => {
    const whole = certifyDataset(options(join(dir, 'whole.tsv'), countingLinearClassifier().f));
    const pieces = [[7, 3], [11, 0, 5], [1, 2, 4, 6, 8, 9, 10]].flatMap((part, k) => certifyDataset(options(join(dir, `piece-${k}.tsv`), countingLinearClassifier().f, part)));
    expect(withoutSeconds(pieces.sort((a, b) => a.index - b.index))).toEqual(withoutSeconds(whole));
    expect(pointSeed('a1b2c3d4e5f60718', 0.5, 3)).toBe(pointSeed('a1b2c3d4e5f60718', 0.5, 3));
    const seeds = new Set([pointSeed('a1b2c3d4e5f60718', 0.5, 3), pointSeed('a1b2c3d4e5f60719', 0.5, 3), pointSeed('a1b2c3d4e5f60718', 0.25, 3), pointSeed('a1b2c3d4e5f60718', 0.5, 4)]);
    expect(seeds.size).toBe(4);
  });

  it('certifyDatasetAsync writes the same rows, and stops before the next point once aborted', async () => {
    const sync = certifyDataset(options(join(dir, 'sync.tsv'), countingLinearClassifier().f));
    const path = join(dir, 'async.tsv');
    const controller = new AbortController();
    const stopped = certifyDatasetAsync({ ...options(path, countingLinearClassifier().f), signal: controller.signal, onPoint: (_r, done) => done === 4 && controller.abort(new Error('stop')) });
    await expect(stopped).rejects.toThrow('stop');
    expect(readFileSync(path, 'utf8').trimEnd().split('\n')).toHaveLength(1 + 4);
    const { f, passes } = countingLinearClassifier();
    expect(withoutSeconds(await certifyDatasetAsync(options(path, f)))).toEqual(withoutSeconds(sync));
    expect(passes()).toBe((NUM - 4) * (50 + 500));
  });

  it('refuses to resume a TSV of an older robustlab (no nA and n columns) or of another n, saying what to do', () => {
    const old = join(dir, 'old.tsv');
    writeFileSync(old, 'index\tlabel\tprediction\tradius\tcorrect\tseconds\n0\t0\t0\t0.5\t1\t0.0100\n');
    expect(() => certifyDataset(options(old, countingLinearClassifier().f))).toThrow(/old\.tsv was written by an older robustlab: it has no nA and n columns .*; move it away \(or delete it\)/);
    const other = join(dir, 'other-n.tsv');
    certifyDataset(options(other, countingLinearClassifier().f, [0, 1]));
    expect(() => certifyDataset({ ...options(other, countingLinearClassifier().f), n: 400 })).toThrow(/holds rows certified with n = 500, not 400: one TSV per configuration/);
    appendFileSync(other, '2\t0\t0\t0.5\t1\n');
    expect(() => parseCertifyTsv(readFileSync(other, 'utf8'), 'other-n.tsv')).toThrow(/other-n\.tsv line 4 is not a certification row/);
  });

  it('resumes a killed run exactly: a TSV cut mid-line gives the same rows as an uninterrupted run, recomputing only the missing points', () => {
    const fullPath = join(dir, 'full-reference.tsv');
    const uninterrupted = certifyDataset(options(fullPath, countingLinearClassifier().f));
    const full = readFileSync(fullPath, 'utf8');

    // Simulate a kill in the middle of writing the 8th row: 7 complete rows and a torn fragment.
    const cut = full.split('\n').slice(0, 8).join('\n').length + 1 + 6;
    const resumedPath = join(dir, 'resumed.tsv');
    writeFileSync(resumedPath, full.slice(0, cut));
    expect(readFileSync(resumedPath, 'utf8').endsWith('\n')).toBe(false);

    const { f, passes } = countingLinearClassifier();
    const resumed = certifyDataset(options(resumedPath, f));
    expect(passes()).toBe((NUM - 7) * (50 + 500));
    expect(withoutSeconds(resumed)).toEqual(withoutSeconds(uninterrupted));
    expect(tsvWithoutSeconds(readFileSync(resumedPath, 'utf8'))).toBe(tsvWithoutSeconds(full));

    // A finished TSV: nothing is recomputed.
    const again = countingLinearClassifier();
    expect(withoutSeconds(certifyDataset(options(resumedPath, again.f)))).toEqual(withoutSeconds(uninterrupted));
    expect(again.passes()).toBe(0);
  });

  it('refuses to append to a file that is not a certification TSV', () => {
    const path = join(dir, 'other.tsv');
    writeFileSync(path, 'epoch\tloss\n1\t0.5\n');
    expect(() => certifyDataset(options(path, countingLinearClassifier().f))).toThrow(/other\.tsv exists but is not a certification TSV .*; delete it or choose another path/);
  });

  it('rejects indices outside the data set', () => {
    expect(() => certifyDataset(options(join(dir, 'bad.tsv'), countingLinearClassifier().f, [0, 12]))).toThrow(/point index 12 is outside the data set \(12 points\)/);
  });
});

describe('certified accuracy and abstain rate', () => {
  const row = (index: number, prediction: number, label: number, radius: number): CertifiedPoint => ({ index, label, prediction, radius, correct: prediction === label, seconds: 0, nA: 0, n: 1 });
  const rows = [row(0, 1, 1, 0.5), row(1, 2, 2, 1.0), row(2, 0, 3, 0.3), row(3, ABSTAIN, 1, 0)];

  it('counts a point at radius r when it is certified with its true label and radius >= r', () => {
    expect(certifiedAccuracy(rows, [0, 0.5, 0.75, 1, 2])).toEqual([0.5, 0.5, 0.25, 0.25, 0]);
  });

  it('reports the fraction of abstentions among the points estimated (sequential CERTIFY skips wrong selections: n = 0)', () => {
    expect(abstainRate(rows)).toBe(0.25);
    expect(abstainRate([])).toBe(0);
    expect(abstainRate([...rows, { ...row(4, 0, 1, 0), n: 0 }])).toBe(0.25);
  });
});

describe('certifyDataset, sequential', () => {
  const sequential = { radii: [0, 0.25, 0.5, 0.75, 1] };

  it('takes fewer noisy passes than fixed n, each row saying how many draws it took; a point that takes every draw counts the same draws as fixed n', () => {
    // Batches of 100 end exactly on the looks (100, 200, 400, 500): the sequential draws are a prefix of fixed n's.
    const fixed = certifyDataset({ ...options(join(dir, 'fixed-for-sequential.tsv'), countingLinearClassifier().f), batchSize: 100 });
    const { f, passes } = countingLinearClassifier();
    const path = join(dir, 'sequential.tsv');
    const rows = certifyDataset({ ...options(path, f), batchSize: 100, sequential });
    expect(passes()).toBe(rows.reduce((a, r) => a + 50 + r.n, 0));
    expect(passes()).toBeLessThan(NUM * (50 + 500));
    // Point 11 is mislabeled: its selection picks class 1, not its label, so no estimation draws are taken.
    expect(rows[11]).toMatchObject({ prediction: 1, correct: false, radius: 0, nA: 0, n: 0 });
    expect(rows.slice(0, 11).every((r) => r.n >= 100 && r.n <= 500)).toBe(true);
    expect(rows.some((r) => r.n > 0 && r.n < 500)).toBe(true);
    const full = rows.filter((r) => r.n === 500);
    expect(full.length).toBeGreaterThan(0);
    for (const r of full) expect(r.nA).toBe(fixed[r.index]!.nA);
    // The TSV records each row's own draws, and reads back as written.
    expect(parseCertifyTsv(readFileSync(path, 'utf8'), path).map((r) => r.n)).toEqual(rows.map((r) => r.n));
    for (const [k, row] of rows.entries()) {
      if (row.prediction !== ABSTAIN) expect(row.radius).toBeLessThanOrEqual(Math.abs(-1 + 0.2 * k));
    }
  });

  it('resumes a sequential TSV (rows with fewer draws than n), and a fixed-n run refuses it', () => {
    const path = join(dir, 'sequential-resume.tsv');
    const first = certifyDataset({ ...options(path, countingLinearClassifier().f, [0, 1, 2, 3]), sequential });
    const { f, passes } = countingLinearClassifier();
    const all = certifyDataset({ ...options(path, f), sequential });
    expect(withoutSeconds(all.slice(0, 4))).toEqual(withoutSeconds(first));
    expect(passes()).toBe(all.slice(4).reduce((a, r) => a + 50 + r.n, 0));
    const short = all.find((r) => r.n < 500)!;
    expect(() => certifyDataset(options(path, countingLinearClassifier().f))).toThrow(new RegExp(`holds rows certified with n = ${short.n}, not 500`));
  });
});
