import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../engine/backend/selection.js';
import { addParam, type Parameters } from '../../../engine/models/parameters.js';
import { pretrain, type PretrainOptions } from '../../../engine/pretrain/loop.js';
import type { Weighting } from '../../../dsl/spec.js';
import type { Upstream } from '../../../engine/pretrain/upstream.js';

/**
 * Two conflicting convex tasks on a scalar theta: L1 = (theta - 1)^2, L2 = 4 (theta + 1)^2.
 * Average training converges to theta = -0.6 (max loss 2.56); the minimax optimum is theta = -1/3,
 * where both losses equal 16/9 = 1.78.
 */
function toyUpstream(params: Parameters): Upstream {
  const theta = params.get('theta')!;
  return {
    k: 2,
    taskNames: ['a', 'b'],
    taskSizes: [1, 1],
    references: [0, 0],
    draw: () => ({
      taskLosses: () => tf.stack([tf.square(tf.sub(theta, 1)), tf.mul(tf.square(tf.add(theta, 1)), 4)]).reshape([2]) as tf.Tensor1D,
      dispose: () => undefined,
    }),
    dispose: () => undefined,
  };
}

async function train(weighting: Weighting, steps = 600, extra: Partial<PretrainOptions> = {}) {
  const params: Parameters = new Map();
  addParam(params, 'theta', tf.scalar(2));
  const dir = mkdtempSync(join(tmpdir(), 'rl-pretrain-'));
  const out = await pretrain({
    params,
    upstream: toyUpstream(params),
    weighting,
    steps,
    lr: 0.05,
    seed: 1,
    checkpointPath: join(dir, 'ck.bin'),
    checkpointEvery: 100,
    metricsPath: join(dir, 'metrics.csv'),
    ...extra,
  });
  const theta = (await params.get('theta')!.data())[0]!;
  params.get('theta')!.dispose();
  return { out, theta, dir };
}

describe('pre-training loop', () => {
  beforeAll(async () => void (await initBackend('cpu')));

  it('minimax lowers the worst task loss below what average training reaches', async () => {
    const avg = await train({ method: 'average', eta: 0, ema: 0, losses: 'raw' });
    const mm = await train({ method: 'softmax', eta: 20, ema: 0, losses: 'raw' });
    const dro = await train({ method: 'group-dro', eta: 0.01, ema: 0, losses: 'raw' });
    const worst = (t: number) => Math.max((t - 1) ** 2, 4 * (t + 1) ** 2);
    expect(avg.theta).toBeCloseTo(-0.6, 2);
    expect(worst(avg.theta)).toBeGreaterThan(2.5);
    expect(worst(mm.theta)).toBeLessThan(1.78 + Math.log(2) / 20 + 0.05);
    expect(worst(mm.theta)).toBeLessThan(worst(avg.theta) - 0.6);
    expect(worst(dro.theta)).toBeLessThan(worst(avg.theta) - 0.5);
    // Weights are recorded every step and the metrics file has one row per step.
    expect(mm.out.history).toHaveLength(600);
    expect(readFileSync(join(mm.dir, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(601);
  });

  it('a run stopped after a checkpoint and resumed ends exactly like an uninterrupted run', async () => {
    const full = await train({ method: 'softmax', eta: 5, ema: 0.5, losses: 'raw' }, 300);
    const params: Parameters = new Map();
    addParam(params, 'theta', tf.scalar(2));
    const dir = mkdtempSync(join(tmpdir(), 'rl-resume-'));
    const opts = {
      params,
      upstream: toyUpstream(params),
      weighting: { method: 'softmax', eta: 5, ema: 0.5, losses: 'raw' } as const,
      steps: 300,
      lr: 0.05,
      seed: 1,
      checkpointPath: join(dir, 'ck.bin'),
      checkpointEvery: 100,
      metricsPath: join(dir, 'metrics.csv'),
    };
    await pretrain({ ...opts, stopAfter: 200 });
    params.get('theta')!.assign(tf.scalar(123)); // the resumed run must restore it from the checkpoint
    const resumed = await pretrain(opts);
    expect(resumed.resumedFrom).toBe(200);
    expect(resumed.history).toEqual(full.out.history);
    expect((await params.get('theta')!.data())[0]).toBe(full.theta);
  });

  it('keeps the tensor count flat across steps (no leak)', async () => {
    const params: Parameters = new Map();
    addParam(params, 'theta', tf.scalar(2));
    const dir = mkdtempSync(join(tmpdir(), 'rl-leak-'));
    const counts: number[] = [];
    await pretrain({
      params,
      upstream: toyUpstream(params),
      weighting: { method: 'group-dro', eta: 0.1, ema: 0, losses: 'raw' },
      steps: 50,
      lr: 0.05,
      seed: 1,
      checkpointPath: join(dir, 'ck.bin'),
      checkpointEvery: 1000,
      metricsPath: join(dir, 'm.csv'),
      logEvery: 1,
      onProgress: () => counts.push(tf.memory().numTensors),
    });
    expect(new Set(counts.slice(1)).size).toBe(1);
  });
});
