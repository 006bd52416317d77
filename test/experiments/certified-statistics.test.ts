/** The certified experiment's statistics against known values, and its arms' equal compute, read from the plans. */
import { describe, expect, it } from 'vitest';
import { certifiedPlans, standing } from '../../experiments/certified.js';
import { binomialInterval, mcnemarExact } from '../../experiments/paired-statistics.js';

describe('exact intervals and tests (@stdlib) against known values', () => {
  it('Clopper-Pearson 95%: 7 of 20 is [0.15391, 0.59219]; 0 of 10 is [0, 0.30850] (as statsmodels proportion_confint beta)', () => {
    const [lo, hi] = binomialInterval(7, 20);
    expect(lo).toBeCloseTo(0.1539092, 6);
    expect(hi).toBeCloseTo(0.5921885, 6);
    const [z0, z1] = binomialInterval(0, 10);
    expect(z0).toBe(0);
    expect(z1).toBeCloseTo(0.3084971, 6);
  });

  it('exact McNemar: 2 points right only for the first model, 9 only for the second: p = 2 * 67 / 2048', () => {
    const first = [true, false, false, false, false, false, false, false, false, false, true, true];
    const second = [false, true, true, true, true, true, true, true, true, true, true, false];
    // Discordant: point 0 (first only), points 1-9 (second only); point 10 agrees; point 11 first only.
    const d = mcnemarExact(first, second);
    expect(d.onlyFirst).toBe(2);
    expect(d.onlySecond).toBe(9);
    expect(d.p).toBeCloseTo(2 * (1 + 11 + 55) / 2048, 12); // P(X <= 2 | Bin(11, 1/2)) = 67 / 2048, two-sided
    expect(d.meanDiff).toBeCloseTo((2 - 9) / 12, 12);
    expect(d.ci95[0]).toBeLessThan(d.meanDiff);
    expect(d.ci95[1]).toBeGreaterThan(d.meanDiff);
    const same = mcnemarExact([true, false], [true, false]);
    expect(same).toMatchObject({ p: 1, meanDiff: 0, ci95: [0, 0] });
  });

  it('a one model is "on par" when its interval stays above -2 points', () => {
    expect(standing({ ci95: [-0.019, 0.03] })).toBe('on par or better');
    expect(standing({ ci95: [-0.08, -0.021] })).toBe('worse');
    expect(standing({ ci95: [-0.05, 0.01] })).toBe('inconclusive');
  });
});

describe('certified arms at equal compute (from the full-scale plans)', () => {
  it('every arm pre-trains the same images per step and in total, and fine-tunes the same steps and batch', () => {
    const plans = certifiedPlans('full');
    const images = plans.map(({ plan }) => plan.stage('pretrain')!.batchSize * plan.stage('split-tasks')!.k);
    expect(new Set(images)).toEqual(new Set([64]));
    expect(new Set(plans.map(({ plan }) => plan.stage('pretrain')!.steps))).toEqual(new Set([600]));
    expect(new Set(plans.map(({ plan }) => `${plan.stage('finetune')!.steps} x ${plan.stage('finetune')!.batchSize}`)).size).toBe(1);
    const minimax = plans.find((p) => p.variant.slug === 'minimax-mixture')!.plan;
    expect(minimax.stage('split-tasks')).toMatchObject({ k: 4, by: 'noise' });
    expect(minimax.stage('pretrain')!.batchSize).toBe(16);
    // Every model is certified on the same points.
    expect(new Set(plans.map(({ plan }) => `${plan.stage('certify')!.points}/${plan.data.seed}`)).size).toBe(1);
  });
});
