import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Adam } from '../../../engine/models/adam.js';
import { initBackend } from '../../../engine/backend/selection.js';
import { addParam, type Parameters } from '../../../engine/models/parameters.js';
import { SeededRandom } from '../../../engine/random.js';
import { nativeBackend } from '../../support/native.js';

const native = await nativeBackend();
const backends = ['cpu', 'wasm', ...(native ? ['tensorflow' as const] : [])] as const;

const STEPS = 25;
const LR = 0.05;
const r = new SeededRandom(9);
const w0 = Array.from({ length: 12 }, () => r.normal());
const b0 = [0.5, -0.25, 1];
const target = Array.from({ length: 12 }, () => r.normal());

const X = [1, 0, 2, -1, 0.5, 1, 0, 3, -2, 1, 1, 1, 0, 0, 1, 2];

function model(): Parameters {
  const p: Parameters = new Map();
  addParam(p, 'w', tf.tensor2d(w0, [4, 3]));
  addParam(p, 'b', tf.tensor1d(b0));
  return p;
}

/** The objective: sum((X w + b - target)^2). */
function objective(p: Parameters): () => tf.Scalar {
  return () => tf.sum(tf.square(tf.sub(tf.add(tf.matMul(tf.tensor2d(X, [4, 4]), p.get('w')!), p.get('b')!), tf.tensor2d(target, [4, 3])))) as tf.Scalar;
}

/** Float64 Adam on the same objective (gradient in closed form). */
function reference(): number[] {
  const x = X;
  const theta = [...w0, ...b0];
  const m = theta.map(() => 0);
  const v = theta.map(() => 0);
  for (let t = 1; t <= STEPS; t++) {
    const g = theta.map(() => 0);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 3; j++) {
        let y = theta[12 + j]!;
        for (let k = 0; k < 4; k++) y += x[i * 4 + k]! * theta[k * 3 + j]!;
        const d = 2 * (y - target[i * 3 + j]!);
        for (let k = 0; k < 4; k++) g[k * 3 + j]! += d * x[i * 4 + k]!;
        g[12 + j]! += d;
      }
    }
    const lrT = (LR * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
    theta.forEach((_, i) => {
      m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
      v[i] = 0.999 * v[i]! + 0.001 * g[i]! ** 2;
      theta[i] = theta[i]! - (lrT * m[i]!) / (Math.sqrt(v[i]!) + 1e-8);
    });
  }
  return theta;
}

async function train(backend: (typeof backends)[number], kernel: 'fused' | 'resource' | 'ops', steps = STEPS): Promise<{ theta: number[]; adam: Adam; p: Parameters }> {
  await initBackend(backend);
  const p = model();
  const adam = new Adam(p, ['w', 'b'], { lr: LR, kernel });
  const f = objective(p);
  for (let t = 0; t < steps; t++) adam.minimize(f).dispose();
  const theta = [...(await p.get('w')!.data()), ...(await p.get('b')!.data())];
  return { theta, adam, p };
}

describe('Adam', () => {
  for (const backend of backends) {
    it(`matches a float64 Adam on ${backend} and leaves no tensors behind`, async () => {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const { theta, adam, p } = await train(backend, 'fused');
      const ref = reference();
      theta.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(2e-4));
      adam.dispose();
      tf.dispose([...p.values()]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it.skipIf(!native)('both native kernels (our one-call kernel, ResourceApplyAdam) and the tfjs formula give bit-identical parameters', async () => {
    const ours = await train('tensorflow', 'fused');
    const resource = await train('tensorflow', 'resource');
    const ops = await train('tensorflow', 'ops');
    expect(ours.theta).toEqual(ops.theta);
    expect(resource.theta).toEqual(ops.theta);
    for (const x of [ours, resource, ops]) (x.adam.dispose(), tf.dispose([...x.p.values()]));
  });

  it.skipIf(!native)('our kernel stays bit-identical on a parameter large enough to be split over threads', async () => {
    await initBackend('tensorflow');
    const n = 300 * 500;
    const r = new SeededRandom(3);
    const init = Float32Array.from({ length: n }, () => r.normal());
    const c = tf.tensor2d(Float32Array.from({ length: n }, () => r.normal()), [300, 500]);
    const run = async (kernel: 'fused' | 'ops'): Promise<Float32Array> => {
      const p: Parameters = new Map();
      addParam(p, 'w', tf.tensor2d(init, [300, 500]));
      const adam = new Adam(p, ['w'], { lr: LR, kernel });
      for (let t = 0; t < 3; t++) adam.minimize(() => tf.sum(tf.mul(tf.square(p.get('w')!), c)) as tf.Scalar).dispose();
      const out = (await p.get('w')!.data()) as Float32Array;
      adam.dispose();
      tf.dispose([...p.values()]);
      return out;
    };
    const [ours, ops] = [await run('fused'), await run('ops')];
    expect(Buffer.from(ours.buffer).equals(Buffer.from(ops.buffer))).toBe(true);
    c.dispose();
  });

  for (const backend of backends) {
    it(`save then load into a new optimizer continues exactly on ${backend}`, async () => {
      const straight = await train(backend, 'fused');
      const half = await train(backend, 'fused', 10);
      const saved = await half.adam.save();
      const resumed = new Adam(half.p, ['w', 'b'], { lr: LR });
      resumed.load(saved.tensors, saved.step);
      const f = objective(half.p);
      for (let t = 10; t < STEPS; t++) resumed.minimize(f).dispose();
      expect([...(await half.p.get('w')!.data()), ...(await half.p.get('b')!.data())]).toEqual(straight.theta);
      for (const x of [straight.adam, half.adam, resumed]) x.dispose();
      tf.dispose([...straight.p.values(), ...half.p.values()]);
    });
  }
});
