/** The task-robust verdict's statistics and gates on hand-made numbers, checked against hand-computed values. */
import { describe, expect, it } from 'vitest';
import { pairedDifference, verdictOf } from '../../experiments/paired-statistics.js';
import { gateG1, gateG2, gateG3, specialistAdvantages, taskRobustVerdict, taskSpread, weightSummary, worstScore, type ArmRun } from '../../experiments/task-robust-analysis.js';

describe('paired statistics (@stdlib), against hand-computed values', () => {
  it('all 8 differences positive: mean 4.5, t interval 4.5 ± 2.3646 * sqrt(6)/sqrt(8), exact Wilcoxon p = 2 / 2^8', () => {
    const d = pairedDifference([2, 4, 6, 8, 10, 12, 14, 16], [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(d.meanDiff).toBeCloseTo(4.5, 12);
    const half = (2.364624251592785 * Math.sqrt(6)) / Math.sqrt(8); // t(0.975, 7) from scipy.stats.t.ppf
    expect(d.ci95[0]).toBeCloseTo(4.5 - half, 8);
    expect(d.ci95[1]).toBeCloseTo(4.5 + half, 8);
    expect(d.p).toBeCloseTo(2 / 256, 12);
    expect(d.n).toBe(8);
  });

  it('differences -1, 2, 3, -4, 5: W+ = 10, exact two-sided p = 2 * 10 / 32 = 0.625', () => {
    // Subsets of ranks {1..5} with sum <= 5 (the lower tail of W-): {}, {1}, {2}, {3}, {4}, {5}, {1,2}, {1,3}, {1,4}, {2,3}.
    const d = pairedDifference([-1, 2, 3, -4, 5], [0, 0, 0, 0, 0]);
    expect(d.p).toBeCloseTo(0.625, 12);
    expect(d.meanDiff).toBeCloseTo(1, 12);
  });

  it('every difference zero gives p = 1 and a zero-width interval at 0', () => {
    const d = pairedDifference([0.5, 0.6], [0.5, 0.6]);
    expect(d.p).toBe(1);
    expect(d.ci95).toEqual([0, 0]);
  });

  it('the verdict follows the sign of the interval', () => {
    expect(verdictOf({ ci95: [0.001, 0.02] })).toBe('holds');
    expect(verdictOf({ ci95: [-0.03, -0.001] })).toBe('reversed');
    expect(verdictOf({ ci95: [-0.012, 0.034] })).toBe('no difference detected (CI [-1.2, +3.4])');
  });
});

const tasks = ['a', 'b'];
function run(arm: string, seed: number, a: number, b: number): ArmRun {
  return { arm, seed, scores: [{ task: 'a', labelsPerClass: 10, accuracy: a }, { task: 'a', labelsPerClass: 50, accuracy: a + 0.02 }, { task: 'b', labelsPerClass: 10, accuracy: b }, { task: 'b', labelsPerClass: 50, accuracy: b + 0.02 }] };
}

describe('gates and verdict', () => {
  const seeds = [0, 1, 2];
  const runs: ArmRun[] = seeds.flatMap((s) => [
    run('untrained', s, 0.5, 0.6),
    run('natural', s, 0.6, 0.8 + 0.01 * s),
    run('minimax', s, 0.65 + 0.01 * s, 0.78),
    run('specialist x', s, 0.7, 0.7),
    run('specialist y', s, 0.6, 0.72),
  ]);

  it('the worst task is the lowest task score, each averaged over label budgets', () => {
    expect(worstScore(runs[1]!, tasks)).toBeCloseTo(0.61, 12);
  });

  it('G1 is the weakest pre-trained arm\'s mean gain over the untrained encoder', () => {
    const g = gateG1(runs, ['natural', 'minimax'], tasks, seeds);
    // natural: (0.61 + 0.81 + 0.01 s) / 2 - 0.56 = 0.15 + 0.005 s; minimax: (0.66 + 0.01 s + 0.79) / 2 - 0.56 = 0.165 + 0.005 s
    expect(g.value).toBeCloseTo(0.155, 12);
    expect(g.passed).toBe(true);
  });

  it('G3 is the best specialist advantage on its own downstream task', () => {
    const adv = specialistAdvantages(runs, { x: 'a', y: 'b' }, seeds);
    expect(adv.find((a) => a.upstream === 'x')!.advantage).toBeCloseTo(0.1, 12);
    expect(adv.find((a) => a.upstream === 'y')!.advantage).toBeCloseTo(0.02, 12);
    expect(gateG3(adv)).toMatchObject({ value: expect.closeTo(0.1, 12), passed: true });
  });

  it('G2 measures the spread of relative losses in standard errors of the per-step noise', () => {
    // Task 0 halves, task 1 stays: relative losses 0.5 and 1 with per-step noise of sd ~0.01.
    const losses = Array.from({ length: 400 }, (_, t) => (t === 0 ? [1, 1] : [0.5 + (t % 2 ? 0.01 : -0.01), 1 + (t % 3 === 0 ? 0.01 : -0.005)]));
    const initial = [1, 1];
    const s = taskSpread({ losses, initial });
    expect(s.spread).toBeCloseTo(0.5, 2);
    expect(s.z).toBeGreaterThan(100);
    expect(gateG2([{ losses, initial }]).passed).toBe(true);
    const same = Array.from({ length: 400 }, (_, t) => [1 + (t % 2 ? 0.01 : -0.01), 1 + (t % 2 ? -0.01 : 0.01)]);
    expect(gateG2([{ losses: same, initial }]).passed).toBe(false);
  });

  it('a failed gate turns the verdict into "not testable", whatever the comparison says', () => {
    const comparison = { method: 'minimax', baseline: 'natural', metric: 'worst task', meanDiff: 0.05, ci95: [0.03, 0.07] as const, p: 0.01, test: 't', n: 8 };
    const pass = { name: 'G1 pre-training helps', description: '', value: 0.05, threshold: 0.03, passed: true };
    const fail = { name: 'G3 a downstream task depends on an upstream task', description: '', value: 0.005, threshold: 0.02, passed: false };
    const head = { method: 'minimax', baseline: 'natural', metric: 'worst task' };
    expect(taskRobustVerdict('c', [0, 1], [pass], [comparison], head).verdict).toBe('holds');
    const v = taskRobustVerdict('c', [0, 1], [pass, fail], [comparison], head);
    expect(v.verdict).toBe('not testable at this scale (G3 failed: 0.005 < 0.02)');
    expect(v.gates).toHaveLength(2);
  });
});

describe('weights over time', () => {
  it('time-averages p over the last quarter and counts arg-max switches', () => {
    const w = [[0.6, 0.4], [0.4, 0.6], [0.7, 0.3], [0.7, 0.3], [0.2, 0.8], [0.2, 0.8], [0.3, 0.7], [0.1, 0.9]];
    const s = weightSummary(w);
    expect(s.switches).toBe(3);
    expect(s.lastQuarter[0]).toBeCloseTo(0.2, 12);
    expect(s.lastQuarter[1]).toBeCloseTo(0.8, 12);
  });
});
