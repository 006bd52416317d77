/**
 * `node dist/bench/prototypes.js [--iters=20]`: measured engine changes, A/B against the engine as it is.
 * Each candidate is timed interleaved with the baseline (baseline step, candidate step, ...) so that both
 * see the same machine load; medians of each are printed with the speed-up. Nothing here changes the
 * engine: a candidate swaps a kernel gradient (restored afterwards) or uses a prototype loss.
 *
 * Candidates:
 * - relu-grad: ReLU's gradient as TensorFlow's one `ReluGrad` kernel (native) instead of tfjs's
 *   dy * step(x), which tfjs-node runs as IsNan + Greater + 2 Fill + 2 Select + Mul over the tensor.
 * - cert-batch: certification's 1000 noisy passes in batches of 250 instead of one batch of 1000.
 * - sparse-xent: the MLM loss's cross-entropy as TensorFlow's `SparseSoftmaxCrossEntropyWithLogits`
 *   (loss and gradient in one kernel, no [positions, vocab] one-hot) instead of
 *   -sum(logSoftmax(logits) * oneHot(targets)).
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { Adam } from '../engine/adam.js';
import { initBackend } from '../engine/backend.js';
import { createMaskedTokenModel, encodeTokens } from '../engine/models/masked-token-transformer.js';
import { param } from '../engine/parameters.js';
import { SeededRandom } from '../engine/random.js';
import { buildOurs } from './ours.js';
import { median } from './timing.js';
import { tokenModelConfig, workloads, type WorkloadConfig } from './workloads.js';

interface NodeBackend {
  binding: { TF_ATTR_TYPE: number; TF_FLOAT: number; TF_INT32: number };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.TensorInfo[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.TensorInfo[], n: number): tf.Tensor[];
}

const nodeBackend = (): NodeBackend => tf.backend() as unknown as NodeBackend;
const floatAttr = (name: string): { name: string; type: number; value: unknown } => ({ name, type: nodeBackend().binding.TF_ATTR_TYPE, value: nodeBackend().binding.TF_FLOAT });

/** Swaps ReLU's gradient for the native ReluGrad kernel; returns the function that restores tfjs's. */
function useNativeReluGrad(): () => void {
  const original = tf.getGradient('Relu')!;
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => nodeBackend().executeSingleOutput('ReluGrad', [floatAttr('T')], [dy as tf.Tensor, saved[0]!]) }),
  });
  return () => tf.registerGradient(original);
}

/** Per-row cross-entropy [M] of logits [M, V] against int32 targets [M], gradient from the same kernel. */
const sparseXent = tf.customGrad(((logits: tf.Tensor, targets: tf.Tensor, save: tf.GradSaveFunc) => {
  const [loss, backprop] = nodeBackend().executeMultipleOutputs(
    'SparseSoftmaxCrossEntropyWithLogits',
    [floatAttr('T'), { name: 'Tlabels', type: nodeBackend().binding.TF_ATTR_TYPE, value: nodeBackend().binding.TF_INT32 }],
    [logits, targets],
    2,
  );
  save([backprop!]);
  return { value: loss!, gradFunc: (dy: tf.Tensor | tf.Tensor[], [bp]: tf.Tensor[]) => [tf.mul(tf.expandDims(dy as tf.Tensor, -1), bp!), tf.zerosLike(targets)] };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (logits: tf.Tensor, targets: tf.Tensor) => tf.Tensor;

/** The MLM training step with the prototype loss (everything else as engine/models/masked-token-transformer.ts). */
function mlmWithSparseXent(config: Extract<WorkloadConfig, { kind: 'mlm-train' }>): { step: () => void; dispose: () => void } {
  const rng = new SeededRandom(0);
  const model = createMaskedTokenModel(tokenModelConfig(config), rng);
  const adam = new Adam(model.params, [...model.params.keys()], { lr: 1e-3 });
  const { batch: B, seqLen: L, maskedPerSequence: M, width: d } = config;
  const tokens = tf.tensor2d(Int32Array.from({ length: B * L }, () => 2 + rng.int(config.vocabSize - 2)), [B, L], 'int32');
  const positions = tf.tensor1d(Int32Array.from({ length: B * M }, (_, i) => Math.floor(i / M) * L + (i % M) * 6), 'int32');
  const targets = tf.tensor1d(Int32Array.from({ length: B * M }, () => 2 + rng.int(config.vocabSize - 2)), 'int32');
  const owner = tf.tensor1d(Int32Array.from({ length: B * M }, (_, i) => Math.floor(i / M)), 'int32');
  const step = (): void =>
    adam
      .minimize(() => {
        const h = tf.reshape(encodeTokens(model, tokens), [-1, d]) as tf.Tensor2D;
        const logits = tf.add(tf.matMul(tf.gather(h, positions), param(model.params, 'tok.emb') as tf.Tensor2D, false, true), param(model.params, 'mlm.b'));
        const nll = sparseXent(logits, targets);
        const perExample = tf.div(tf.unsortedSegmentSum(nll, owner, B), tf.maximum(tf.unsortedSegmentSum(tf.onesLike(nll), owner, B), 1));
        return tf.mean(perExample) as tf.Scalar;
      })
      .dispose();
  return { step, dispose: () => { adam.dispose(); tf.dispose([tokens, positions, targets, owner, ...model.params.values()]); } };
}

function ab(name: string, base: () => void, cand: () => void, iters: number): void {
  for (let i = 0; i < 3; i++) (base(), cand());
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < iters; i++) {
    let t = performance.now();
    base();
    a.push(performance.now() - t);
    t = performance.now();
    cand();
    b.push(performance.now() - t);
  }
  const [ma, mb] = [median(a), median(b)];
  console.log(`${name.padEnd(58)} baseline ${ma.toFixed(1).padStart(7)} ms  candidate ${mb.toFixed(1).padStart(7)} ms  speed-up ${(ma / mb).toFixed(2)}x`);
}

async function main(): Promise<void> {
  const iters = Number(process.argv.find((a) => a.startsWith('--iters='))?.slice(8) ?? '20');
  process.env['TF_NUM_INTRAOP_THREADS'] ??= String(availableParallelism());
  process.env['TF_NUM_INTEROP_THREADS'] ??= String(availableParallelism());
  await initBackend('tensorflow');
  for (const w of workloads()) {
    if (w.config.kind === 'image-train' || w.config.kind === 'classifier-train') {
      const r = buildOurs(w.config);
      let restore: (() => void) | null = null;
      ab(`relu-grad: ${w.name}`, () => r.step(), () => {
        restore = useNativeReluGrad();
        try {
          r.step();
        } finally {
          restore();
        }
      }, iters);
      r.dispose();
    }
    if (w.config.kind === 'certify') {
      const base = buildOurs(w.config);
      const cand = buildOurs({ ...w.config, batch: 250 });
      ab(`cert-batch: ${w.name} (4 x 250)`, base.step, () => { for (let i = 0; i < 4; i++) cand.step(); }, Math.ceil(iters / 2));
      base.dispose();
      cand.dispose();
    }
    if (w.config.kind === 'mlm-train') {
      const base = buildOurs(w.config);
      const cand = mlmWithSparseXent(w.config);
      ab(`sparse-xent: ${w.name}`, base.step, cand.step, iters);
      base.dispose();
      cand.dispose();
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
