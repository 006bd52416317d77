/**
 * `node dist/bench/prototypes.js [--iters=20] [--only=fused,adam,cert-batch]`: engine choices measured
 * A/B on the native backend. Each candidate is timed interleaved with the baseline (baseline step,
 * candidate step, ...) so that both see the same machine load; medians of each are printed with the
 * speed-up. Nothing here changes the engine.
 *
 * Candidates:
 * - fused: the MLM and classifier steps with our fused kernels (engine/backend/fused-kernels.ts: layer norm, GELU,
 *   cross-entropy, attention, embedding; Adam is the next candidate's) against the tfjs compositions, on
 *   one model (switched per step).
 * - adam: the bench's training steps with our one-call Adam kernel (the default on the native backend)
 *   against the same update in tfjs ops (`kernel: 'ops'`, 12 kernels per parameter) and in TensorFlow's
 *   ResourceApplyAdam (`kernel: 'resource'`, one kernel per parameter plus a copy in and out).
 * - cert-batch: certification's 1000 noisy passes in batches of 250 instead of one batch of 1000.
 *
 * Changes measured the same way and then made the engine's only path (numbers in the engine files):
 * the hand-written sparse cross-entropy (engine/ops/sparse-cross-entropy.ts), the 2-D linear layer and layer
 * norm (engine/ops/linear.ts, engine/ops/layer-norm.ts), the fused convolution (engine/ops/conv-relu.ts) and ReluGrad
 * (engine/backend/native-ops.ts).
 */
import { availableParallelism } from 'node:os';
import { initBackend } from '../engine/backend/selection.js';
import { setFusedKernels } from '../engine/backend/fused-kernels.js';
import { buildOurs } from './ours.js';
import { median } from './timing.js';
import { workloads } from './workloads.js';

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
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',') ?? ['fused', 'adam', 'cert-batch'];
  process.env['TF_NUM_INTRAOP_THREADS'] ??= String(availableParallelism());
  process.env['TF_NUM_INTEROP_THREADS'] ??= String(availableParallelism());
  await initBackend('tensorflow');
  for (const w of workloads()) {
    const c = w.config;
    if (only.includes('fused') && (c.kind === 'mlm-train' || c.kind === 'classifier-train')) {
      const r = buildOurs(c);
      const withFused = (on: boolean) => () => {
        setFusedKernels(on);
        r.step();
      };
      ab(`fused (our kernels vs tfjs ops): ${w.name}`, withFused(false), withFused(true), iters);
      setFusedKernels(true);
      r.dispose();
    }
    if (only.includes('adam') && (c.kind === 'image-train' || c.kind === 'mlm-train' || c.kind === 'classifier-train')) {
      const cand = buildOurs(c);
      for (const baseline of ['ops', 'resource'] as const) {
        const base = buildOurs(c, { adamKernel: baseline });
        ab(`adam (our one-call kernel vs ${baseline === 'ops' ? 'tfjs ops' : 'ResourceApplyAdam'}): ${w.name}`, base.step, cand.step, iters);
        base.dispose();
      }
      cand.dispose();
    }
    if (only.includes('cert-batch') && c.kind === 'certify') {
      const base = buildOurs(c);
      const cand = buildOurs({ ...c, batch: 250 });
      ab(`cert-batch: ${w.name} (4 x 250)`, base.step, () => { for (let i = 0; i < 4; i++) cand.step(); }, Math.ceil(iters / 2));
      base.dispose();
      cand.dispose();
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
