/**
 * The committed certified results re-derive from their own per-point files, with nothing but the TSVs and
 * CERTIFY's definition: each row's radius from its counts (one-sided Clopper-Pearson lower bound of nA / n,
 * sigma * PhiInverse of it, abstain below 1/2), and every cell of certified-accuracy.csv (count, accuracy and
 * exact interval) from the rows. An outsider can do the same with a spreadsheet.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as aq from 'arquero';
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../engine/project-root.js';
import { CERTIFIED_SCALES, variants } from '../../experiments/certified.js';

const dir = join(projectRoot(), 'results', 'certified');

interface Row {
  index: number;
  label: number;
  prediction: number;
  radius: number;
  correct: number;
  nA: number;
  n: number;
}

function readTsv(path: string): Row[] {
  const [head, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n');
  const cols = head!.split('\t');
  for (const c of ['index', 'label', 'prediction', 'radius', 'correct', 'nA', 'n']) expect(cols, `${path} header`).toContain(c);
  return lines.map((l) => {
    const f = l.split('\t');
    const get = (c: string) => Number(f[cols.indexOf(c)]);
    return { index: get('index'), label: get('label'), prediction: get('prediction'), radius: get('radius'), correct: get('correct'), nA: get('nA'), n: get('n') };
  });
}

/** Two-sided exact (Clopper-Pearson) 95% interval of k successes in n. */
const exact95 = (k: number, n: number): [number, number] => [k === 0 ? 0 : betaQuantile(0.025, k, n - k + 1), k === n ? 1 : betaQuantile(0.975, k + 1, n - k)];

describe('results/certified', () => {
  const meta = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { scale: string; attachments?: string[] };
  const scale = CERTIFIED_SCALES[meta.scale as 'smoke' | 'full'];
  const table = aq.fromCSV(readFileSync(join(dir, 'certified-accuracy.csv'), 'utf8')).objects() as {
    model: string;
    sigma: number;
    radius: number;
    certifiedAccuracy: number;
    ci95_lo: number;
    ci95_hi: number;
    certified: number;
    points: number;
  }[];
  const slugOf = new Map(variants().map((v) => [v.name, v.slug]));
  const tsvOf = (model: string, sigma: number) => join(dir, 'points', `${slugOf.get(model)}-sigma-${sigma}.tsv`);

  it('is a full-scale result with one per-point file for every model and sigma of its table, listed in result.json', () => {
    expect(meta.scale).toBe('full');
    const expected = [...new Set(table.map((r) => `points/${slugOf.get(r.model)}-sigma-${r.sigma}.tsv`))].sort();
    expect(expected.length).toBeGreaterThan(0);
    expect([...(meta.attachments ?? [])].sort()).toEqual(expected);
    expect(readdirSync(join(dir, 'points')).map((f) => `points/${f}`).sort()).toEqual(expected);
  });

  it("every row's radius and prediction follow from its counts nA of n (CERTIFY, alpha of the scale)", () => {
    for (const f of meta.attachments ?? []) {
      const sigma = Number(/-sigma-([0-9.]+)\.tsv$/.exec(f)![1]);
      const rows = readTsv(join(dir, f));
      expect(rows.length, f).toBe(scale.points);
      expect(new Set(rows.map((r) => r.index)).size, `${f}: distinct test points`).toBe(rows.length);
      for (const r of rows) {
        expect(r.n, f).toBe(scale.n);
        const lower = r.nA === 0 ? 0 : betaQuantile(scale.alpha, r.nA, r.n - r.nA + 1);
        if (lower < 0.5) {
          expect([r.prediction, r.radius, r.correct], `${f} point ${r.index}: abstains`).toEqual([-1, 0, 0]);
        } else {
          expect(r.radius, `${f} point ${r.index}`).toBeCloseTo(sigma * normalQuantile(lower, 0, 1), 9);
          expect(r.correct, `${f} point ${r.index}`).toBe(r.prediction === r.label ? 1 : 0);
        }
      }
    }
  });

  it('every cell of certified-accuracy.csv is the count of rows certified correctly at its radius, with its exact interval', () => {
    expect(existsSync(join(dir, 'points'))).toBe(true);
    for (const cell of table) {
      const rows = readTsv(tsvOf(cell.model, cell.sigma));
      // The same test points for every model: compare the set of indices with the clean model's.
      const k = rows.filter((r) => r.correct === 1 && r.radius >= cell.radius).length;
      const where = `${cell.model}, sigma ${cell.sigma}, r ${cell.radius}`;
      expect([cell.certified, cell.points], where).toEqual([k, rows.length]);
      expect(cell.certifiedAccuracy, where).toBeCloseTo(k / rows.length, 9);
      const [lo, hi] = exact95(k, rows.length);
      expect(cell.ci95_lo, where).toBeCloseTo(lo, 6);
      expect(cell.ci95_hi, where).toBeCloseTo(hi, 6);
    }
  });

  it('every model was certified on the same test points', () => {
    const sets = (meta.attachments ?? []).map((f) => readTsv(join(dir, f)).map((r) => `${r.index}:${r.label}`).sort().join(','));
    expect(new Set(sets).size).toBe(1);
  });
});
