/**
 * Memory (issue #10): 1,000 pre-training steps of a tiny masked-image model keep the tensor count flat
 * and the process's resident memory within 10% of its level after warm-up.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageSet } from '../../datasets/index.js';
import { initBackend } from '../../engine/backend/selection.js';
import { imageModelConfig } from '../../engine/models/masked-image-conv.js';
import { createImageUpstream } from '../../engine/pretrain/image-upstream.js';
import { createMaskedImageModel } from '../../engine/models/masked-image-conv.js';
import { disposeParameters } from '../../engine/models/parameters.js';
import { pretrain } from '../../engine/pretrain/loop.js';
import { SeededRandom } from '../../engine/random.js';

describe('memory over 1,000 training steps', () => {
  it('keeps tf.memory().numTensors flat and RSS within 10% after warm-up', async () => {
    await initBackend();
    const set = loadImageSet('fashionMnist');
    const model = createMaskedImageModel(imageModelConfig({ width: 2, depth: 1 }), new SeededRandom(1, 1));
    const all = Int32Array.from({ length: set.train.count }, (_, i) => i);
    const upstream = createImageUpstream({
      set, model, pools: [all.filter((i) => set.train.labels[i]! < 5), all.filter((i) => set.train.labels[i]! >= 5)],
      taskNames: ['a', 'b'], taskSigmas: null, mixture: null, batchSize: 2, maskRatio: 0.5, seed: 1,
    });
    const dir = mkdtempSync(join(tmpdir(), 'rl-memory-'));
    const samples: { step: number; tensors: number; rss: number }[] = [];
    await pretrain({
      params: model.params, upstream, weighting: { method: 'softmax', eta: 5, ema: 0, losses: 'raw' }, steps: 1000, lr: 1e-3, seed: 1,
      checkpointPath: join(dir, 'ck.bin'), checkpointEvery: 250, metricsPath: join(dir, 'metrics.csv'), logEvery: 50,
      onProgress: (p) => samples.push({ step: p.step, tensors: tf.memory().numTensors, rss: process.memoryUsage().rss }),
    });
    upstream.dispose();
    disposeParameters(model.params);
    expect(samples.map((s) => s.step)).toEqual(Array.from({ length: 20 }, (_, i) => 50 * (i + 1)));
    const warm = samples.filter((s) => s.step >= 200);
    expect(new Set(warm.map((s) => s.tensors)).size, JSON.stringify(warm.map((s) => s.tensors))).toBe(1);
    const base = warm[0]!.rss;
    // Growth is what a leak looks like; a drop (the collector returning memory) is fine.
    const worst = Math.max(...warm.map((s) => (s.rss - base) / base));
    expect(worst, `RSS (MB): ${warm.map((s) => (s.rss / 2 ** 20).toFixed(0)).join(' ')}`).toBeLessThan(0.1);
  });
});
