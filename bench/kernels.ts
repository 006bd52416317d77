/**
 * `node dist/bench/kernels.js [--calls=200]`: one call of each of our fused kernels
 * (engine/backend/fused-kernels.ts) at the shapes of the bench's MLM step (96 sequences of 32 tokens,
 * width 64, 2 heads, MLP width 256, 480 masked positions over a vocabulary of 8,000), each timed alone
 * in a loop: the median of `calls` calls after 20 untimed ones. Within a training step the kernels run
 * slower than here (their inputs and outputs are colder in cache, and TensorFlow's threads are still
 * spinning after a product), so this is for comparing two builds of the kernels, one after the other;
 * the step itself is `npm run bench -- --only=mlm`. Nothing here changes the engine.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { initBackend } from '../engine/backend/selection.js';
import * as kernels from '../engine/backend/fused-kernels.js';
import { median } from './timing.js';

function time(name: string, call: () => tf.Tensor | tf.Tensor[], calls: number): void {
  for (let i = 0; i < 20; i++) tf.dispose(call());
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    tf.dispose(call());
    ms.push(performance.now() - t);
  }
  console.log(`${name.padEnd(44)} ${median(ms).toFixed(3).padStart(7)} ms`);
}

async function main(): Promise<void> {
  const calls = Number(process.argv.find((a) => a.startsWith('--calls='))?.slice('--calls='.length) ?? 200);
  process.env['TF_NUM_INTRAOP_THREADS'] ??= String(availableParallelism());
  process.env['TF_NUM_INTEROP_THREADS'] ??= String(availableParallelism());
  await initBackend('tensorflow');
  if (!kernels.fusedKernelsAvailable()) throw new Error('bench/kernels: our fused kernels are not in this build (npm run setup:native)');
  const [rows, heads, d, mlp, masked, vocab] = [96 * 32, 2, 64, 256, 480, 8000];
  const qkv = tf.randomNormal([rows, 3 * d]);
  const mask = tf.zeros([96, 32]);
  const [out, probs] = kernels.attentionKernel(qkv, mask, heads);
  const hidden = tf.randomNormal([rows, mlp]);
  const x = tf.randomNormal([rows, d]);
  const [g, b] = [tf.ones([d]), tf.zeros([d])];
  const [, mean, rstd] = kernels.layerNormKernel(x, g, b, 1e-5);
  const logits = tf.randomNormal([masked, vocab]);
  const labels = tf.tensor1d(Array.from({ length: masked }, (_, i) => (i * 977) % vocab), 'int32');
  const bias = tf.zeros([vocab]);
  const [loss, lse] = kernels.crossEntropyKernel(logits, labels, bias);
  console.log(`bench/kernels: median of ${calls} calls each, TF_NUM_INTRAOP_THREADS=${process.env['TF_NUM_INTRAOP_THREADS']}`);
  time(`attention [${rows}, ${3 * d}], ${heads} heads`, () => kernels.attentionKernel(qkv, mask, heads), calls);
  time('attention gradient', () => kernels.attentionGradKernel(out, qkv, probs, heads), calls);
  time(`GELU [${rows}, ${mlp}]`, () => kernels.geluKernel(hidden), calls);
  time('GELU gradient', () => kernels.geluGradKernel(hidden, hidden), calls);
  time(`layer norm [${rows}, ${d}]`, () => kernels.layerNormKernel(x, g, b, 1e-5), calls);
  time('layer norm gradient', () => kernels.layerNormGradKernel(x, x, g, mean, rstd), calls);
  time(`cross-entropy [${masked}, ${vocab}]`, () => kernels.crossEntropyKernel(logits, labels, bias), calls);
  time('cross-entropy gradient', () => kernels.crossEntropyGradKernel(logits, lse, labels, loss, bias), calls);
  tf.dispose([qkv, mask, out, probs, hidden, x, g, b, mean, rstd, logits, labels, bias, loss, lse]);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
