import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend, staleKernels } from '../../../engine/backend/selection.js';
import { EngineError } from '../../../engine/errors.js';
import { createMaskedTokenModel, maskedTokenLoss } from '../../../engine/models/masked-token-transformer.js';
import { SeededRandom } from '../../../engine/random.js';

/** Runs `f` on a backend and returns its gradients as plain arrays. */
async function gradsOn(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await initBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  const out = tf.tidy(f);
  const values = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(out);
  return values;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function fixed(shape: number[], seed: number): tf.Tensor {
  const r = new SeededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => r.normal()), shape);
}

describe('backends', () => {
  it('an offline build compiled from another version of the fused kernels is recognised, with what to run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'robustlab-stale-'));
    try {
      const source = join(dir, 'fused-kernels.cc');
      writeFileSync(source, '// kernels, version 2\n');
      const built = createHash('sha256').update('// kernels, version 2\n').digest('hex').slice(0, 16);
      expect(staleKernels(built, source)).toBeNull();
      expect(staleKernels(null, source)).toBeNull();
      writeFileSync(source, '// kernels, version 3\n');
      expect(staleKernels(built, source)).toMatch(/compiled from another version .* fused kernels stay off .* until `npm run setup:native`$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cpu and wasm initialise and report themselves', async () => {
    for (const name of ['cpu', 'wasm'] as const) {
      const r = await initBackend(name);
      expect(r.name).toBe(name);
      expect(tf.getBackend()).toBe(name);
      expect(r.reason).toMatch(/forced/);
    }
    const wasm = await initBackend('wasm');
    // The kernels training needs that wasm lacks are served through the cpu fallback.
    expect(wasm.fallbackKernels).toEqual(expect.arrayContaining(['Conv2DBackpropFilter', 'UnsortedSegmentSum']));
  });

  it('an unknown ROBUSTLAB_BACKEND is a one-line EngineError', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./engine/backend/selection.ts').then(m => m.initBackend()).catch(e => { console.log(e.name + ': ' + e.message); })"], {
      env: { ...process.env, ROBUSTLAB_BACKEND: 'tpu' },
      encoding: 'utf8',
    });
    expect(r.stdout.trim()).toBe("EngineError: ROBUSTLAB_BACKEND must be one of auto, tensorflow, wasm, cpu; got 'tpu'");
  });

  it('forcing the native backend where it cannot load is a clear error, not a fallback', async () => {
    // In a child process with module resolution pointed away from any native build.
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./engine/backend/selection.ts').then(m => m.initBackend('tensorflow')).then(r => console.log('OK ' + r.name)).catch(e => console.log(e.name + ': ' + e.message))"], {
      env: { ...process.env, ROBUSTLAB_NATIVE_DIR: '/nonexistent' },
      encoding: 'utf8',
    });
    const line = r.stdout.trim();
    if (line.startsWith('OK')) expect(line).toBe('OK tensorflow');
    else expect(line).toMatch(/^EngineError: ROBUSTLAB_BACKEND=tensorflow but the native backend cannot load .*npm run setup:native/);
  });

  it('wasm gradients of conv2d (filter), gather (embedding) and a transformer block equal cpu within 1e-4', async () => {
    const conv = () => {
      const x = fixed([2, 8, 8, 3], 1) as tf.Tensor4D;
      const w = fixed([3, 3, 3, 4], 2) as tf.Tensor4D;
      // Stride 2 'same' and stride 1 'valid' (odd sizes, so padding is asymmetric in the first).
      const x2 = fixed([2, 7, 9, 3], 4) as tf.Tensor4D;
      return [
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))))([x, w]),
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'))))([x2, w]),
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))))([x2, w]),
      ];
    };
    const embed = () => {
      const table = fixed([50, 8], 3);
      const ids = tf.tensor1d([1, 4, 4, 49, 0, 7], 'int32');
      return [tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, ids))))(table)];
    };
    const block = () => {
      const model = createMaskedTokenModel({ vocabSize: 40, seqLen: 6, width: 16, depth: 1, heads: 2, padId: 0 }, new SeededRandom(5));
      const tokens = tf.tensor2d([[3, 5, 2, 9, 0, 0], [3, 7, 8, 2, 11, 12]], [2, 6], 'int32');
      const vars = [...model.params.values()];
      const { grads } = tf.variableGrads(
        () => tf.mean(maskedTokenLoss(model, tokens, tf.tensor1d([2, 9], 'int32'), tf.tensor1d([4, 13], 'int32'), tf.tensor1d([0, 1], 'int32'), 2)) as tf.Scalar,
        vars,
      );
      const out = vars.map((v) => grads[v.name]!);
      vars.forEach((v) => v.dispose());
      return out;
    };
    for (const f of [conv, embed, block]) {
      const a = await gradsOn('cpu', f);
      const b = await gradsOn('wasm', f);
      a.forEach((g, i) => expect(maxAbsDiff(g, b[i]!)).toBeLessThan(1e-4));
    }
  });
});
