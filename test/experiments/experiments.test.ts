import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../engine/backend/selection.js';
import { EngineError } from '../../engine/errors.js';
import { certifiedRobustness, RADII } from '../../experiments/certified.js';
import { taskRobustCv, taskRobustNlp, taskRobustVerdict, TASK_ROBUST_CV } from '../../experiments/task-robust.js';

const runsDir = mkdtempSync(join(tmpdir(), 'rl-exp-runs-'));

describe('paper experiments at smoke scale (two methods each)', () => {
  beforeAll(async () => void (await initBackend()));

  it('task-robust CV: per-task, average and worst accuracy for each method, and weight curves that sum to 1', async () => {
    const r = await taskRobustCv({ scale: 'smoke', only: ['average', 'minimax eta=500'], runsDir, quiet: true });
    const comparison = r.tables['comparison']!.objects() as Record<string, number | string>[];
    expect(comparison.map((c) => c['method'])).toEqual(['average', 'minimax eta=500']);
    for (const row of comparison) {
      const tasks = TASK_ROBUST_CV.tasks.map((t) => row[`${t}_mean`] as number);
      tasks.forEach((a) => expect(a).toBeGreaterThan(0.1));
      expect(row['worst_mean']).toBeCloseTo(Math.min(...tasks), 12);
    }
    expect(r.tables['per-seed']!.numRows()).toBe(2 * TASK_ROBUST_CV.tasks.length);
    const weights = r.figures.find((f) => f.name === 'task-weights')!;
    // One weight curve per task for the minimax run, over every step.
    expect(weights.data).toHaveLength(3);
    const curves = weights.data.map((d) => d['y'] as number[]);
    expect(curves[0]).toHaveLength(TASK_ROBUST_CV.scales.smoke.steps);
    curves[0]!.forEach((_, i) => expect(curves.reduce((s, c) => s + c[i]!, 0)).toBeCloseTo(1, 5));
    expect(r.summary).toMatch(/\| average \|/);
    expect(r.tables['comparison']!.columnNames().slice(0, 2)).toEqual(['method', 'fashion-tops_mean']);
  });

  it('task-robust NLP: POS-group tasks and text probes', async () => {
    const r = await taskRobustNlp({ scale: 'smoke', only: ['average', 'minimax eta=5'], runsDir, quiet: true });
    const upstream = r.tables['upstream']!.objects() as Record<string, number>[];
    expect(Object.keys(upstream[0]!).filter((k) => k.startsWith('loss_'))).toEqual(['loss_noun', 'loss_verb', 'loss_adjective', 'loss_adverb', 'loss_other']);
    const comparison = r.tables['comparison']!.objects() as Record<string, number>[];
    // imdb is binary: a probe must beat a coin only slightly at this scale, but not be degenerate.
    expect(comparison[0]!['imdb-sentiment_mean']).toBeGreaterThan(0.4);
  });

  it('certified: certified accuracy never grows with the radius, and every sigma is reported', async () => {
    const r = await certifiedRobustness({ scale: 'smoke', only: ['clean pre-training', 'clean + noise mixture (one model)'], runsDir, quiet: true });
    const rows = r.tables['certified-accuracy']!.objects() as { model: string; sigma: number; radius: number; certifiedAccuracy: number }[];
    expect(rows).toHaveLength(2 * 3 * RADII.length);
    for (const model of ['clean pre-training', 'clean + noise mixture (one model)']) {
      for (const sigma of [0.25, 0.5, 1]) {
        const acc = rows.filter((x) => x.model === model && x.sigma === sigma).map((x) => x.certifiedAccuracy);
        acc.slice(1).forEach((a, i) => expect(a).toBeLessThanOrEqual(acc[i]!));
      }
    }
    expect(r.tables['cost']!.numRows()).toBe(2);
    expect(r.summary).toMatch(/needs the mixture model and the one-model-per-sigma models/);
  });

  it('names an unknown method in a typed error', async () => {
    await expect(taskRobustCv({ scale: 'smoke', only: ['minimax eta=7'], runsDir, quiet: true })).rejects.toThrow(EngineError);
    await expect(taskRobustCv({ scale: 'smoke', only: ['minimax eta=7'], runsDir, quiet: true })).rejects.toThrow(/unknown method 'minimax eta=7'/);
  });

  it('states the verdict from the numbers, including when one seed cannot decide', () => {
    expect(taskRobustVerdict(0.5, { m: 'x', w: 0.6 }, 0.02, 3)).toMatch(/claim held: x raised the worst downstream task from 50.0% to 60.0%/);
    expect(taskRobustVerdict(0.5, { m: 'x', w: 0.51 }, 0.05, 3)).toMatch(/only weakly/);
    expect(taskRobustVerdict(0.5, { m: 'x', w: 0.45 }, 0.05, 3)).toMatch(/did not hold/);
    expect(taskRobustVerdict(0.5, { m: 'x', w: 0.6 }, 0, 1)).toMatch(/one seed cannot tell/);
  });
});
