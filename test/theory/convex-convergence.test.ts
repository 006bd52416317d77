import { describe, expect, it } from 'vitest';
import { convergeInstance, convexInstances, convexConvergence } from '../../experiments/convex-convergence.js';
import { convergenceBound } from '../../theory/convergence-bound.js';
import { seededLeastSquares, seededLogistic } from '../../theory/convex-tasks.js';
import { certifyMinimax, dualLowerBound, maxTaskLoss } from '../../theory/minimax-optimum.js';
import { gaussianSource } from '../../theory/random.js';

const checkpoints = [10, 30, 100, 300, 1000];
const results = convexInstances(1).map((instance) => convergeInstance(instance, checkpoints));

describe('softmax-weighted gradient descent on convex tasks', () => {
  it.each(results.map((r) => [r.instance, r] as const))('%s: the measured max-task gap never exceeds the computed bound', (_, r) => {
    for (const run of [...r.schedule, ...r.sweep]) {
      expect(run.farthest).toBeLessThanOrEqual(r.constants.region); // the constants hold where the iterates went
      expect(run.gap).toBeGreaterThanOrEqual(0);
      expect(run.gap).toBeLessThanOrEqual(run.bound);
      expect(run.bound).toBeCloseTo(convergenceBound(r.constants, run.eta, run.steps), 12);
    }
  });

  it.each(results.map((r) => [r.instance, r] as const))('%s: gap decays at least like T^-0.45 on eta ~ sqrt(T log k)/(G R)', (_, r) => {
    expect(r.slope).toBeLessThanOrEqual(-0.45);
  });

  it.each(results.map((r) => [r.instance, r] as const))('%s: OPT is certified to 1e-8 relative by primal and dual', (_, r) => {
    const { primal, dual } = r.constants.optimum;
    expect(dual).toBeLessThanOrEqual(primal * (1 + 1e-14));
    expect((primal - dual) / primal).toBeLessThan(1e-8);
  });

  it.each(results.map((r) => [r.instance, r] as const))('%s: average training plateaus above OPT while minimax approaches it', (_, r) => {
    const average = r.baselines.filter((b) => b.method === 'average (eta = 0)').map((b) => b.gap);
    const minimax = r.schedule[r.schedule.length - 1]!.gap;
    expect(Math.abs(average[average.length - 1]! - average[average.length - 2]!)).toBeLessThan(1e-6 * average[average.length - 1]!);
    expect(average[average.length - 1]!).toBeGreaterThan(2 * minimax);
  });
});

describe('weak duality', () => {
  it('D(p) <= max_i L_i(theta) for random weights, points and instances', () => {
    const rng = gaussianSource(42, 5);
    for (let trial = 0; trial < 20; trial++) {
      const d = 3 + (trial % 4);
      const k = 2 + (trial % 5);
      const tasks = Array.from({ length: k }, (_, i) =>
        i % 2 === 0 ? seededLeastSquares(rng, 30, d, 1 + rng.uniform() * 3, 0.3) : seededLogistic(rng, 40, rng.fillNormal(new Float64Array(d)), 0.1),
      );
      const raw = Array.from({ length: k }, () => -Math.log(rng.uniform()));
      const total = raw.reduce((a, b) => a + b, 0);
      const p = raw.map((v) => v / total);
      const dual = dualLowerBound(tasks, p).value;
      const opt = certifyMinimax(tasks);
      expect(opt.relativeGap).toBeLessThan(1e-8);
      expect(dual).toBeLessThanOrEqual(opt.primal);
      for (let j = 0; j < 5; j++) expect(dual).toBeLessThanOrEqual(maxTaskLoss(tasks, rng.fillNormal(new Float64Array(d))));
    }
  });
});

describe('convexConvergence (smoke)', () => {
  it('returns its tables, log-axis figures and a summary stating the slopes and that the bound held', () => {
    const result = convexConvergence({ scale: 'smoke', seed: 1 });
    expect(Object.keys(result.tables).sort()).toEqual(['baselines', 'eta-sweep', 'instances', 'schedule']);
    expect(result.tables.schedule!.numRows()).toBe(15);
    for (const f of result.figures) {
      expect((f.layout.xaxis as { type: string }).type).toBe('log');
      expect((f.layout.yaxis as { title: { text: string } }).title.text).toMatch(/loss units/);
    }
    expect(result.summary).toMatch(/held at every T, every eta and every instance/);
    expect(result.summary).toMatch(/all <= -0.45: held/);
    expect(result.seconds).toBeLessThan(10);
  });
});
