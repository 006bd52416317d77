/**
 * `robustlab doctor`: what this installation runs on — Node and tfjs versions, the backend chosen and
 * why (with every candidate tried), and a measured float32 matMul rate on it.
 */
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../engine/backend/selection.js';
import { parseFlags, UsageError, type Command } from './command.js';

const usage = `robustlab doctor [--size N]
  --size N  matMul side for the GFLOP/s measurement (default 1024)`;

/** Median seconds of `reps` N x N x N float32 matMuls (after a warm-up), as GFLOP/s. */
export async function measureMatMul(n: number, reps = 5): Promise<number> {
  const a = tf.randomUniform([n, n]);
  const b = tf.randomUniform([n, n]);
  const once = async () => {
    const t = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
    return (performance.now() - t) / 1000;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push(await once());
  tf.dispose([a, b]);
  times.sort((x, y) => x - y);
  return (2 * n ** 3) / times[Math.floor(times.length / 2)]! / 1e9;
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'report Node/tfjs versions, the backend in use and why, and a measured matMul GFLOP/s',
  usage,
  async run(argv) {
    const { flags } = parseFlags(argv, { size: 'number' });
    const n = (flags.size as number | undefined) ?? 1024;
    if (!(Number.isInteger(n) && n >= 1 && n <= 16384)) throw new UsageError(`--size must be an integer in [1, 16384], got ${n}`);
    const r = await initBackend();
    const out = process.stdout;
    out.write(`node         ${process.version} (${process.platform}-${process.arch})\n`);
    out.write(`tfjs         ${r.tfjsVersion}\n`);
    out.write(`${describeBackend(r)}\n`);
    for (const a of r.attempts) out.write(`  tried ${a.candidate}: ${a.ok ? 'ok' : a.why}\n`);
    if (r.name === 'tensorflow') {
      // The native backend carries the TensorFlow C library's version on its binding.
      const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
      out.write(`TensorFlow   ${binding?.TF_Version ?? 'unknown'} (C library under ${r.provider})\n`);
    }
    if (r.fallbackKernels.length) out.write(`wasm kernels served by the cpu fallback: ${r.fallbackKernels.length} (e.g. ${r.fallbackKernels.slice(0, 4).join(', ')})\n`);
    const gflops = await measureMatMul(n);
    out.write(`matMul ${n}^3 float32 on ${r.name}: ${gflops.toFixed(1)} GFLOP/s (median of 5)\n`);
    return 0;
  },
};
