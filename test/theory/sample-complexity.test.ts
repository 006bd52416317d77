import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { describe, expect, it } from 'vitest';
import {
  estimatorCheck,
  pairedComparison,
  populationRepresentations,
  sampleComplexity,
  samplesToTargetOver,
  SETTINGS,
  TRAINING,
} from '../../experiments/sample-complexity.js';
import { expectedExcessRisk, samplesToReach } from '../../theory/downstream-excess-risk.js';
import { TheoryError } from '../../theory/errors.js';
import { averageRepresentation, linearRepresentationModel, minimaxRepresentation, outsideSpan, upstreamLosses } from '../../theory/linear-representation.js';

describe('linear representation model', () => {
  it('eigenspace-restricted minimax keeps the semantic direction that average pre-training drops when rho > 1', () => {
    const model = linearRepresentationModel({ d: 30, r: 4, signalRatio: 3, seed: 3 });
    const semantic = model.downstream[model.downstream.length - 1]!.weights;
    const average = averageRepresentation(model);
    const minimax = minimaxRepresentation(model);
    expect(outsideSpan(average, 30, 4, semantic)).toBeCloseTo(1, 10);
    expect(outsideSpan(minimax.basis, 30, 4, semantic)).toBeLessThan(1e-10);
    expect(minimax.primal).toBeLessThan(Math.max(...upstreamLosses(model, average)) - 0.05);
    expect(minimax.dual).toBeLessThanOrEqual(minimax.primal);
  });

  it('closed forms: r/(n - r - 1) variance and the samples needed to reach a target', () => {
    expect(expectedExcessRisk(0, 0.5, 5, 26)).toBeCloseTo((0.25 * 5) / 20, 14);
    expect(expectedExcessRisk(0.1, 0.5, 5, 26)).toBeCloseTo(0.1 + (0.35 * 5) / 20, 14);
    expect(samplesToReach(0.3, 0.5, 5, 0.25)).toBe(Infinity);
    const n = samplesToReach(0.1, 0.5, 5, 0.25);
    expect(expectedExcessRisk(0.1, 0.5, 5, n)).toBeLessThanOrEqual(0.25);
    expect(expectedExcessRisk(0.1, 0.5, 5, n - 1)).toBeGreaterThan(0.25);
  });
});

describe('estimator check', () => {
  it('the simulated excess risk on the population representations matches the closed form within the family-wise 95% threshold', () => {
    const points = [0.5, 3].flatMap((signalRatio, i) => {
      const model = linearRepresentationModel({ d: 24, r: 4, signalRatio, seed: 10 + i });
      return estimatorCheck(model, populationRepresentations(model), [12, 20, 40, 80, 160], 300, 10 + i);
    });
    const threshold = normalQuantile(1 - 0.025 / points.length, 0, 1);
    for (const p of points) expect(Math.abs(p.simulated.mean - p.closedForm)).toBeLessThanOrEqual(threshold * p.simulated.standardError);
  });
});

describe('statistics over repetitions', () => {
  it('samples to target: mean and standard error only when every repetition reaches it', () => {
    const all = samplesToTargetOver([40, 44, 48]);
    expect(all.mean).toBe(44);
    expect(all.standardError).toBeCloseTo(4 / Math.sqrt(3), 12);
    const some = samplesToTargetOver([40, Infinity, 50]);
    expect(some.reaching).toBe(2);
    expect(some.mean).toBe(Infinity);
    expect(some.median).toBe(50);
  });

  it('paired comparison: t interval around the mean difference, Wilcoxon p, and a typed error for unpaired input', () => {
    const c = pairedComparison('risk', [0.1, 0.2, 0.3, 0.21, 0.25, 0.15, 0.23, 0.22], [1, 1, 1, 1, 1, 1, 1, 1]);
    expect(c.meanDiff).toBeCloseTo(-0.7925, 12);
    expect(c.ci95[0]).toBeLessThan(c.meanDiff);
    expect(c.ci95[1]).toBeLessThan(0);
    // Eight distinct differences, all negative: the exact two-sided signed-rank p is 2 / 2^8.
    expect(c.p).toBeCloseTo(2 / 256, 10);
    expect(() => pairedComparison('risk', [1, 2], [1])).toThrow(TheoryError);
  });
});

describe('sampleComplexity (smoke)', () => {
  it('learns B from finite samples by the engine loop; minimax reaches the target at the largest n_up where average never does; estimator check apart', async () => {
    const result = await sampleComplexity({ scale: 'smoke', seed: 1 });
    const rows = result.tables['samples-to-target']!.objects() as Record<string, number | string>[];
    const upstreamSamples = [...new Set(rows.map((r) => r['upstream_samples']))];
    expect(upstreamSamples).toEqual(SETTINGS.smoke.upstreamSamples);
    expect(upstreamSamples.length).toBeGreaterThanOrEqual(3);
    expect(rows.find((r) => r['pretraining'] === 'minimax')!['learned_by']).toMatch(/^engine pretrain\(\): weighting softmax \(eta 50, ema 0\)/);
    expect(rows.find((r) => r['pretraining'] === 'average')!['learned_by']).toMatch(/^engine pretrain\(\): weighting average \(eta 0/);
    const at = (nUp: number, p: string) => rows.find((r) => r['upstream_samples'] === nUp && r['pretraining'] === p)!;
    const largest = SETTINGS.smoke.upstreamSamples[SETTINGS.smoke.upstreamSamples.length - 1]!;
    expect(at(largest, 'average')['repetitions_reaching_target']).toBe(0);
    expect(at(largest, 'minimax')['repetitions_reaching_target']).toBe(SETTINGS.smoke.repetitions);
    // ... with a downstream sample count within a third of the population representation's.
    expect(Math.abs((at(largest, 'minimax')['n_mean'] as number) / (at(largest, 'minimax')['n_population'] as number) - 1)).toBeLessThan(1 / 3);
    // The learned representations approach their limits: the angle shrinks from the smallest to the largest n_up.
    for (const p of ['average', 'minimax']) {
      expect(at(largest, p)['principal_angle_deg_mean'] as number).toBeLessThan((at(SETTINGS.smoke.upstreamSamples[0]!, p)['principal_angle_deg_mean'] as number) / 3);
    }
    expect(result.tables['learned-representations']!.numRows()).toBe(SETTINGS.smoke.upstreamSamples.length * SETTINGS.smoke.repetitions * 2);
    expect(result.summary).toMatch(/### Claim: representations learned from n_up samples per task/);
    expect(result.summary).toMatch(/### Estimator check \(verifies the downstream estimator, not the claim\)/);
    expect(result.figures.map((f) => f.name)).toContain('estimator-check');
    expect(result.verdict!.verdict).toBe(`not testable at this scale (${SETTINGS.smoke.repetitions} paired repetitions; a verdict needs >= 8)`);
    expect(result.verdict!.comparisons).toHaveLength(SETTINGS.smoke.upstreamSamples.length);
    expect(result.verdict!.comparisons.at(-1)!.meanDiff).toBeLessThan(-0.5);
    // Smoke runs in CI and must stay under a minute on 2 cores, where a training step takes about 0.6 ms: bound the work, not the
    // wall time of a possibly busy machine.
    expect(result.tables['learned-representations']!.numRows() * TRAINING.steps).toBeLessThanOrEqual(50_000);
  });

  it('refuses settings a user can get wrong with one-line typed errors', async () => {
    await expect(sampleComplexity({ scale: 'smoke', seed: 1, settings: { upstreamSamples: [640, 40] } })).rejects.toThrow(/upstreamSamples must be ascending integers >= 1, got \[640, 40\]/);
    await expect(sampleComplexity({ scale: 'smoke', seed: 1, settings: { repetitions: 1 } })).rejects.toThrow(TheoryError);
    await expect(sampleComplexity({ scale: 'smoke', seed: 1, settings: { ns: [4, 64] } })).rejects.toThrow(/downstream n must exceed r \+ 2 = 7/);
  });
});
