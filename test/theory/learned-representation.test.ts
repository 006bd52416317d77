import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../engine/backend/selection.js';
import { addParam, disposeParameters, type Parameters } from '../../engine/models/parameters.js';
import { SeededRandom } from '../../engine/random.js';
import { TRAINING } from '../../experiments/sample-complexity.js';
import { TheoryError } from '../../theory/errors.js';
import { drawUpstreamSample, learnRepresentation, populationStatistics, representationUpstream } from '../../theory/learned-representation.js';
import { largestPrincipalAngle, orthonormalColumns } from '../../theory/linear-algebra.js';
import { angleToPopulation, averageRepresentation, linearRepresentationModel, minimaxRepresentation, outsideSpan, softmaxRepresentation, upstreamLosses } from '../../theory/linear-representation.js';
import { gaussianSource } from '../../theory/random.js';

const degrees = (x: number) => (x * 180) / Math.PI;
const average = { method: 'average', eta: 0, ema: 0, losses: 'raw' } as const;
const minimax = { method: 'softmax', eta: 50, ema: 0, losses: 'raw' } as const;
const schedule = TRAINING;

describe('largest principal angle', () => {
  it('is the rotation angle of one column, from 1e-7 rad to 90 degrees', () => {
    const d = 8;
    const r = 3;
    const frame = orthonormalColumns(gaussianSource(5).fillNormal(new Float64Array(d * (r + 1))), d, r + 1);
    const a = new Float64Array(d * r);
    for (let i = 0; i < d; i++) for (let j = 0; j < r; j++) a[i * r + j] = frame[i * (r + 1) + j]!;
    for (const theta of [1e-7, 0.3, 1.2, Math.PI / 2]) {
      // Column 1 turned by theta towards the frame's fourth vector, which lies outside span A.
      const b = Float64Array.from(a);
      for (let i = 0; i < d; i++) b[i * r + 1] = Math.cos(theta) * frame[i * (r + 1) + 1]! + Math.sin(theta) * frame[i * (r + 1) + r]!;
      expect(largestPrincipalAngle(a, b, d, r)).toBeCloseTo(theta, 12);
    }
    expect(largestPrincipalAngle(a, a, d, r)).toBeLessThan(1e-7);
  });
});

describe('softmax-weighted pre-training in the population (float64)', () => {
  it('mixes the nuisance and semantic directions exactly as the closed-form balance predicts', () => {
    // With the core directions kept, B's last column is cos(t) u_r + sin(t) u_{r+1}: pattern tasks lose h^2 s and the
    // semantic task b^2 (1 - s), s = sin^2 t. F_eta over s is minimised at s = (eta b^2 - ln rho) / (eta (h^2 + b^2)).
    for (const [r, rho, eta] of [[5, 1.5, 50], [3, 3, 50], [5, 2, 100]] as const) {
      const model = linearRepresentationModel({ d: 20, r, signalRatio: rho, seed: 4 });
      const b2 = 0.25;
      const h2 = (b2 * rho) / (2 * (r - 1));
      const s = (eta * b2 - Math.log(rho)) / (eta * (h2 + b2));
      const limit = softmaxRepresentation(model, eta);
      expect(limit.stationarity).toBeLessThanOrEqual(1e-10);
      expect(outsideSpan(limit.basis, 20, r, model.downstream[model.downstream.length - 1]!.weights)).toBeCloseTo(1 - s, 6);
      // Its worst upstream loss lies between the minimax value's lower bound and that bound + log(k)/eta.
      const { dual } = minimaxRepresentation(model);
      expect(Math.max(...limit.losses)).toBeGreaterThanOrEqual(dual);
      expect(Math.max(...limit.losses)).toBeLessThanOrEqual(dual + Math.log(model.upstream.length) / eta);
    }
  });

  it('with eta = 0 is the top-r eigenspace of average pre-training', () => {
    const model = linearRepresentationModel({ d: 30, r: 4, signalRatio: 2, seed: 6 });
    expect(largestPrincipalAngle(softmaxRepresentation(model, 0).basis, averageRepresentation(model), 30, 4)).toBeLessThan(1e-6);
  });

  it('refuses a negative or infinite eta with a typed error', () => {
    const model = linearRepresentationModel({ d: 10, r: 3, signalRatio: 2, seed: 1 });
    expect(() => softmaxRepresentation(model, -1)).toThrow(TheoryError);
    expect(() => softmaxRepresentation(model, Infinity)).toThrow(/eta must be a finite number >= 0, got Infinity/);
  });
});

describe('representations learned by the engine pre-training loop', () => {
  beforeAll(async () => void (await initBackend('cpu')));

  it('task losses on the population statistics are the population losses sigma^2 + ||(I - B B^T) w_i||^2', async () => {
    const model = linearRepresentationModel({ d: 12, r: 3, signalRatio: 2, seed: 2 });
    const basis = orthonormalColumns(gaussianSource(9).fillNormal(new Float64Array(12 * 3)), 12, 3);
    // Heads B^T w_i are the best heads for an orthonormal B.
    const heads = new Float32Array(3 * model.upstream.length);
    model.upstream.forEach((t, i) => {
      for (let c = 0; c < 3; c++) for (let row = 0; row < 12; row++) heads[c * model.upstream.length + i]! += basis[row * 3 + c]! * t.weights[row]!;
    });
    const params: Parameters = new Map();
    addParam(params, 'basis', tf.tensor2d(Float32Array.from(basis), [12, 3]));
    addParam(params, 'heads', tf.tensor2d(heads, [3, model.upstream.length]));
    const upstream = representationUpstream(model, populationStatistics(model), params);
    const batch = upstream.draw(0, new SeededRandom(1));
    const losses = batch.taskLosses();
    const expected = upstreamLosses(model, basis);
    Array.from(await losses.data()).forEach((l, i) => expect(l).toBeCloseTo(expected[i]!, 5));
    tf.dispose(losses);
    upstream.dispose();
    disposeParameters(params);
  });

  it('trained on the population statistics, reaches the float64 population representation of each pre-training', async () => {
    const model = linearRepresentationModel({ d: 20, r: 5, signalRatio: 1.5, seed: 3 });
    const population = populationStatistics(model);
    const avg = await learnRepresentation(model, population, average, schedule, 1);
    const mm = await learnRepresentation(model, population, minimax, schedule, 1);
    expect(degrees(angleToPopulation(model, avg.basis, averageRepresentation(model)))).toBeLessThan(0.1);
    expect(degrees(angleToPopulation(model, mm.basis, softmaxRepresentation(model, 50).basis))).toBeLessThan(0.1);
    expect(mm.lossDrift).toBeLessThan(1e-4);
  });

  it('learned from n_up samples per task, converges to the population representation as n_up grows (principal angle shrinks)', async () => {
    const model = linearRepresentationModel({ d: 20, r: 5, signalRatio: 1.5, seed: 3 });
    const limits = { average: averageRepresentation(model), minimax: softmaxRepresentation(model, 50).basis };
    const angles: Record<'average' | 'minimax', number[]> = { average: [], minimax: [] };
    for (const nUp of [100, 1000, 10000]) {
      const sample = drawUpstreamSample(model, nUp, 50);
      for (const [name, weighting] of [['average', average], ['minimax', minimax]] as const) {
        const learned = await learnRepresentation(model, sample, weighting, schedule, 50);
        angles[name].push(degrees(angleToPopulation(model, learned.basis, limits[name])));
      }
    }
    for (const a of Object.values(angles)) {
      expect(a[1]!).toBeLessThan(a[0]!);
      expect(a[2]!).toBeLessThan(a[1]!);
      expect(a[2]!).toBeLessThan(a[0]! / 3);
      expect(a[2]!).toBeLessThan(6);
    }
  });

  it('refuses bad sample counts and schedules with one-line typed errors', async () => {
    const model = linearRepresentationModel({ d: 10, r: 3, signalRatio: 2, seed: 1 });
    expect(() => drawUpstreamSample(model, 0, 1)).toThrow(/samples per task must be an integer >= 1, got 0/);
    expect(() => drawUpstreamSample(model, 2.5, 1)).toThrow(TheoryError);
    const sample = drawUpstreamSample(model, 20, 1);
    await expect(learnRepresentation(model, sample, average, { steps: 0, lr: 0.01 }, 1)).rejects.toThrow(/steps must be an integer >= 1, got 0/);
    await expect(learnRepresentation(model, sample, average, { steps: 10, lr: -1 }, 1)).rejects.toThrow(/lr must be a finite number > 0, got -1/);
    await expect(learnRepresentation(model, sample, { method: 'softmax', eta: NaN, ema: 0, losses: 'raw' }, schedule, 1)).rejects.toThrow(TheoryError);
  });
});
