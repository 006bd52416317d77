/**
 * `node dist/bench/profile.js [--backend=tensorflow] [--steps=5]`: where our time goes. For each
 * workload of the bench, runs `steps` iterations under `tf.profile` and prints kernel time summed by
 * kernel name (largest first), the share of the step wall time the kernels account for (the rest is
 * JavaScript: autodiff bookkeeping, tensor creation, op dispatch), and the kernel count per step.
 * Kernels the engine runs straight through the native binding are not seen one by one: a hand-written
 * layer's forward pass shows as one entry (named after its custom-gradient scope), and its backward
 * kernels and Adam's fused updates appear only in the wall time.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { initBackend, type BackendName } from '../engine/backend/selection.js';
import { buildOurs } from './ours.js';
import { workloads } from './workloads.js';

async function main(): Promise<void> {
  const arg = (name: string, dflt: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
  const backend = arg('backend', 'tensorflow') as BackendName;
  const steps = Number(arg('steps', '5'));
  process.env['TF_NUM_INTRAOP_THREADS'] ??= String(availableParallelism());
  process.env['TF_NUM_INTEROP_THREADS'] ??= String(availableParallelism());
  await initBackend(backend);
  for (const w of workloads()) {
    if (w.config.kind === 'matmul') continue;
    const ours = buildOurs(w.config);
    for (let i = 0; i < 2; i++) ours.step();
    const t0 = performance.now();
    const info = await tf.profile(() => {
      for (let i = 0; i < steps; i++) ours.step();
    });
    const wallMs = (performance.now() - t0) / steps;
    ours.dispose();
    const byName = new Map<string, { ms: number; count: number }>();
    let kernelMs = 0;
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      kernelMs += ms;
      const e = byName.get(k.name) ?? { ms: 0, count: 0 };
      byName.set(k.name, { ms: e.ms + ms, count: e.count + 1 });
    }
    console.log(`\n${w.name} on ${backend}: ${wallMs.toFixed(1)} ms/step under the profiler, kernels ${(kernelMs / steps).toFixed(1)} ms/step (${((100 * kernelMs) / steps / wallMs).toFixed(0)}%), ${(info.kernels.length / steps).toFixed(0)} kernels/step`);
    for (const [name, e] of [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 14)) {
      console.log(`  ${name.padEnd(28)} ${(e.ms / steps).toFixed(2).padStart(8)} ms/step  ${(e.count / steps).toFixed(0).padStart(4)} calls/step  ${((100 * e.ms) / kernelMs).toFixed(1).padStart(5)}%`);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
