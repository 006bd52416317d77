/**
 * The task-robust experiment end to end at smoke scale: every arm, control and specialist runs through the engine,
 * and the report carries the gates, the paired comparisons and a verdict in the machine-readable shape.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../engine/backend/selection.js';
import { EngineError } from '../../engine/errors.js';
import { arms, taskRobustCv, taskRobustNlp, taskRobustPlans, TASK_ROBUST_CV, TASK_ROBUST_NLP } from '../../experiments/task-robust.js';

const runsDir = mkdtempSync(join(tmpdir(), 'rl-task-robust-'));

describe('task-robust experiment (smoke scale)', () => {
  beforeAll(async () => void (await initBackend()));

  it('plans: every arm at equal examples per step, paired seeds, specialists on the pilot seeds', () => {
    const plans = taskRobustPlans(TASK_ROBUST_CV, 'smoke');
    const c = TASK_ROBUST_CV.scales.smoke;
    const perStep = (p: (typeof plans)[number]) => {
      const pre = p.plan.stage('pretrain')!;
      return pre.steps === 0 ? null : pre.batchSize * p.plan.stage('split-tasks')!.k;
    };
    const trained = plans.filter((p) => perStep(p) !== null);
    expect(new Set(trained.map(perStep))).toEqual(new Set([TASK_ROBUST_CV.k * c.batchSize]));
    // Seed s: the same initialisation and probe split in every arm (the plan's seed).
    for (const seed of c.seeds) expect(plans.filter((p) => p.arm.role !== 'specialist' && p.seed === seed).length).toBe(arms(TASK_ROBUST_CV).filter((a) => a.role !== 'specialist').length);
    expect(plans.filter((p) => p.arm.role === 'specialist').map((p) => p.seed)).toEqual(Object.keys(TASK_ROBUST_CV.dependsOn).flatMap(() => c.specialistSeeds));
    expect(plans.find((p) => p.arm.name === 'minimax (paper)')!.plan.stage('pretrain')!.weighting).toMatchObject({ method: 'softmax', losses: 'raw', ema: 0 });
    expect(plans.find((p) => p.arm.name === 'untrained')!.plan.stage('pretrain')!.steps).toBe(0);
  });

  it('CV: gates, paired comparisons and a verdict from every arm, with the tables behind them', async () => {
    const r = await taskRobustCv({ scale: 'smoke', runsDir, quiet: true });
    const v = r.verdict!;
    expect(v.seeds).toEqual([...TASK_ROBUST_CV.scales.smoke.seeds]);
    expect(v.gates.map((g) => g.name.split(' ')[0])).toEqual(['G1', 'G2', 'G3']);
    for (const g of v.gates) expect(g.passed).toBe(g.value >= g.threshold);
    expect(v.verdict).toMatch(/^(holds|reversed|no difference detected \(CI \[[-+]\d+\.\d, [-+]\d+\.\d\]\)|not testable at this scale \(.+\))$/);
    if (v.gates.some((g) => !g.passed)) expect(v.verdict).toMatch(/^not testable/);
    const head = v.comparisons.find((c) => c.method === 'minimax' && c.baseline === 'natural' && c.metric === 'worst task')!;
    expect(head.ci95[0]).toBeLessThanOrEqual(head.meanDiff);
    expect(head.ci95[1]).toBeGreaterThanOrEqual(head.meanDiff);
    expect(head.n).toBe(2);
    // Per-seed evidence: one row per (arm, seed, task, label budget).
    const c = TASK_ROBUST_CV.scales.smoke;
    const runsCount = (arms(TASK_ROBUST_CV).filter((a) => a.role !== 'specialist').length) * c.seeds.length + Object.keys(TASK_ROBUST_CV.dependsOn).length * c.specialistSeeds.length;
    expect(r.tables['per-seed']!.numRows()).toBe(runsCount * TASK_ROBUST_CV.tasks.length * c.labelsPerClass.length);
    // Time-averaged weights are distributions; average pre-training keeps them uniform.
    const w = r.tables['weights']!.objects() as { arm: string; seed: number; p_last_quarter: number }[];
    for (const arm of ['average', 'minimax']) {
      const sum = w.filter((x) => x.arm === arm && x.seed === 0).reduce((a, x) => a + x.p_last_quarter, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
    w.filter((x) => x.arm === 'average').forEach((x) => expect(x.p_last_quarter).toBeCloseTo(1 / 3, 6));
    expect(r.tables['held-out']!.numRows()).toBeGreaterThan(0);
    expect(r.figures.map((f) => f.name)).toEqual(['task-weights', 'upstream-losses', 'downstream-accuracy', 'paired-differences']);
    expect(r.summary).toMatch(/\*\*Gates\*\*/);
    expect(r.summary).toMatch(/smoke scale checks that everything runs/);
  }, 300_000);

  it('NLP: part-of-speech tasks; a subset of arms is reported without a verdict', async () => {
    const r = await taskRobustNlp({ scale: 'smoke', only: ['average', 'minimax', 'untrained'], runsDir, quiet: true });
    expect(r.verdict).toBeUndefined();
    expect(r.summary).toMatch(/The verdict needs natural, average, minimax/);
    const held = r.tables['held-out']!.objects() as { arm: string; group: string }[];
    expect([...new Set(held.map((h) => h.group))]).toEqual(['noun', 'verb', 'adjective', 'adverb', 'other']);
    const tasks = new Set((r.tables['per-seed']!.objects() as { task: string }[]).map((x) => x.task));
    expect([...tasks]).toEqual([...TASK_ROBUST_NLP.tasks]);
  });

  it('names an unknown arm in a typed error', async () => {
    await expect(taskRobustCv({ scale: 'smoke', only: ['minimax eta=7'], runsDir, quiet: true })).rejects.toThrow(EngineError);
    await expect(taskRobustCv({ scale: 'smoke', only: ['minimax eta=7'], runsDir, quiet: true })).rejects.toThrow(/unknown arm 'minimax eta=7'/);
  });
});
