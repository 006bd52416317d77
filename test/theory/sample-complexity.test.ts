import { describe, expect, it } from 'vitest';
import { expectedExcessRisk, samplesToReach } from '../../theory/downstream-excess-risk.js';
import { averageRepresentation, linearRepresentationModel, minimaxRepresentation, outsideSpan, upstreamLosses } from '../../theory/linear-representation.js';
import { reproduceTheory } from '../../experiments/reproduce-theory.js';
import { sampleComplexityCell, sampleComplexity, TARGET_EXCESS_RISK } from '../../experiments/sample-complexity.js';

describe('linear representation model', () => {
  it('average pre-training drops the semantic direction when rho > 1; minimax keeps it and lowers the worst upstream loss', () => {
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
    expect(expectedExcessRisk(0, 0.5, 5, 26)).toBeCloseTo(0.25 * 5 / 20, 14);
    expect(expectedExcessRisk(0.1, 0.5, 5, 26)).toBeCloseTo(0.1 + 0.35 * 5 / 20, 14);
    expect(samplesToReach(0.3, 0.5, 5, 0.25)).toBe(Infinity);
    const n = samplesToReach(0.1, 0.5, 5, 0.25);
    expect(expectedExcessRisk(0.1, 0.5, 5, n)).toBeLessThanOrEqual(0.25);
    expect(expectedExcessRisk(0.1, 0.5, 5, n - 1)).toBeGreaterThan(0.25);
  });
});

describe('simulated excess risk', () => {
  it('matches the closed form within 3 standard errors at every n of the grid, for both pre-trainings', () => {
    for (const [i, signalRatio] of [0.5, 3].entries()) {
      const cell = sampleComplexityCell(linearRepresentationModel({ d: 24, r: 4, signalRatio, seed: 10 + i }), [12, 20, 40, 80, 160], 300, 10 + i);
      for (const outcome of cell.outcomes) {
        for (const point of outcome.curve) {
          expect(Math.abs(point.simulated.mean - point.closedForm)).toBeLessThanOrEqual(3 * point.simulated.standardError);
        }
      }
    }
  });
});

describe('sampleComplexity (smoke) and reproduceTheory', () => {
  it('minimax reaches the target with few samples where average pre-training never does', () => {
    const result = sampleComplexity({ scale: 'smoke', seed: 1 });
    const rows = result.tables['samples-to-target']!.objects() as { signal_ratio: number; n_average: number; n_minimax: number; n_without_representation: number; target: number }[];
    const hard = rows.find((r) => r.signal_ratio > 1)!;
    expect(hard.target).toBe(TARGET_EXCESS_RISK);
    expect(hard.n_average).toBe(Infinity);
    expect(hard.n_minimax).toBeLessThan(hard.n_without_representation);
    const easy = rows.find((r) => r.signal_ratio < 1)!;
    expect(easy.n_minimax).toBe(easy.n_average);
    expect(result.summary).toMatch(/the closed form held/);
    expect(result.seconds).toBeLessThan(10);
  });

  it('reproduceTheory returns both analyses', () => {
    expect(reproduceTheory('smoke').map((r) => r.name)).toEqual(['theory-convex-convergence', 'theory-sample-complexity']);
  });
});
