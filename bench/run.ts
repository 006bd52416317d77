/**
 * `npm run bench`: the experiments' workloads timed in robustlab and in PyTorch (CPU) side by side, in
 * one run, on identical shapes, batch sizes, dtype (float32), thread count, warm-up and number of timed
 * iterations. Interleaved: the machine may be shared and its load drifts within seconds, so each row,
 * after both sides' warm-up, is timed in ROUNDS (5) alternating rounds, each a block of our timed
 * iterations followed at once by as many of PyTorch's (the worker keeps the row built between rounds;
 * bench/timing.ts), and both sides see the same load. Prints a table of medians over all timed
 * iterations, the ratio ours / PyTorch, our GFLOP/s and MFU (fraction of the native backend's measured
 * 1024^3 matMul), first on the native `tensorflow` backend, then on `wasm`, whose rows stop at a time cap
 * (so may run fewer rounds) and re-time PyTorch in their own rounds on as many iterations as ours ran;
 * writes results/bench/<isa>/bench-<date>T<hhmm>.csv and results/bench/latest-<isa>.md.
 *
 * Flags: --quick (a third of the timed iterations), --backends=tensorflow,wasm (which of ours to run),
 * --only=<part of a row name> (that row, plus the matMul ceiling).
 * Threads: both sides get os.availableParallelism() intra-op threads: torch.set_num_threads (and
 * OMP/MKL_NUM_THREADS); TensorFlow reads TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS when its
 * runtime starts, so they are set here before the native backend loads (unless already set).
 */
import * as tf from '@tensorflow/tfjs';
import { backendReport } from '../engine/backend/selection.js';
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { initBackend, type BackendName } from '../engine/backend/selection.js';
import { projectRoot } from '../engine/project-root.js';
import { fusedKernelsAvailable } from '../engine/backend/fused-kernels.js';
import { fusedConvKernel, fusedMatMulSupported } from '../engine/backend/native-ops.js';
import { buildOurs } from './ours.js';
import { gflops, textTable, writeResults, type Machine, type Row } from './report.js';
import { timeRounds } from './timing.js';
import { TorchWorker, type TorchRow } from './torch-side.js';
import { workloads, type Workload } from './workloads.js';

/** Per-row time cap on the slow `wasm` backend (our timed runs; at least 2 are always taken). */
const WASM_SECONDS_PER_ROW = 12;

interface Flags {
  readonly scale: number;
  readonly backends: BackendName[];
  /** Also run the training rows on wasm (minutes per step there). */
  /** Only rows whose name contains this (case-insensitive); the matMul ceiling always runs. */
  readonly only: string | null;
}

function parseFlags(argv: readonly string[]): Flags {
  let scale = 1;
  let backends: BackendName[] = ['tensorflow', 'wasm'];
  let only: string | null = null;
  for (const a of argv) {
    if (a === '--quick') scale = 1 / 3;
    else if (a.startsWith('--only=')) only = a.slice('--only='.length).toLowerCase();
    else if (a.startsWith('--backends=')) backends = a.slice('--backends='.length).split(',') as BackendName[];
    else throw new Error(`bench: unknown flag ${a} (use --quick, --backends=tensorflow,wasm, --only=<name part>)`);
  }
  for (const b of backends) if (!['tensorflow', 'wasm', 'cpu'].includes(b)) throw new Error(`bench: unknown backend ${b}`);
  return { scale, backends, only };
}

/** The instruction sets that decide which kernels run, and the history class. */
function isaOf(): { isa: string; isaClass: 'avx512' | 'avx2' | 'baseline' } {
  let flags = new Set<string>();
  try {
    flags = new Set(/^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(/\s+/) ?? []);
  } catch {
    /* not Linux: no flags */
  }
  const isa = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'amx_tile'].filter((f) => flags.has(f)).join(' ') || 'none of avx2/fma/avx512f/amx';
  // Our fused kernels are GCC target_clones for x86-64-v4, v3 and baseline; the loader picks by these flags.
  const isaClass: 'avx512' | 'avx2' | 'baseline' = ['avx512f', 'avx512bw', 'avx512vl', 'avx512cd', 'avx512dq'].every((f) => flags.has(f)) ? 'avx512' : flags.has('avx2') && flags.has('fma') ? 'avx2' : 'baseline';
  return { isa, isaClass };
}

/** The kernel paths the native backend runs: products, convolutions, our fused kernels' clone. */
function kernelPaths(isaClass: 'avx512' | 'avx2' | 'baseline'): string {
  const clone = { avx512: 'x86-64-v4', avx2: 'x86-64-v3', baseline: 'default' }[isaClass];
  const onednn = process.env['TF_ENABLE_ONEDNN_OPTS'] === '0' ? 'Eigen (TF_ENABLE_ONEDNN_OPTS=0)' : `oneDNN (TF_ENABLE_ONEDNN_OPTS=${process.env['TF_ENABLE_ONEDNN_OPTS'] ?? 'unset'})`;
  const conv = tf.getBackend() === 'tensorflow' ? (fusedConvKernel() ?? 'unfused Conv2D + BiasAdd + Relu') : 'n/a';
  const ours = tf.getBackend() === 'tensorflow' && fusedKernelsAvailable() ? `our fused kernels (${clone} clone)` : 'tfjs compositions (no fused kernels)';
  const bias = tf.getBackend() === 'tensorflow' && fusedMatMulSupported() ? ', bias in the product (_MklNativeFusedMatMul)' : '';
  return `products ${onednn}${bias}; convolution ${conv}; ${ours}`;
}

function cpuModel(): string {
  try {
    const line = execSync('lscpu', { encoding: 'utf8' }).split('\n').find((l) => l.startsWith('Model name:'));
    if (line) return line.slice('Model name:'.length).trim();
  } catch {
    /* lscpu missing: fall back to /proc/cpuinfo */
  }
  const m = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m?.[1]?.trim() ?? 'unknown CPU';
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const threads = availableParallelism();
  process.env['TF_NUM_INTRAOP_THREADS'] ??= String(threads);
  process.env['TF_NUM_INTEROP_THREADS'] ??= String(threads);
  const started = Date.now();
  const list = workloads(flags.scale).filter((w) => flags.only === null || w.config.kind === 'matmul' || w.name.toLowerCase().includes(flags.only));
  const loadAtStart = loadavg();
  console.log(`bench: ${cpuModel()}, ${threads} cores, load average ${loadAtStart}; ${isaOf().isa}`);

  const torch = await TorchWorker.start(threads);
  if (typeof torch === 'string') console.log(`bench: ${torch}`);
  else console.log(`bench: PyTorch ${torch.info.torch} with ${torch.info.threads} threads (interop ${torch.info.interop})`);
  const worker = typeof torch === 'string' ? null : torch;

  const rows: Row[] = [];
  let ceiling = Number.NaN;
  let tfVersion = '';
  for (const backend of flags.backends) {
    try {
      await initBackend(backend);
    } catch (e) {
      console.log(`bench: skipping backend ${backend}: ${(e as Error).message}`);
      continue;
    }
    if (backend === 'tensorflow') tfVersion = `, tfjs-node ${backendReport()?.provider ?? '?'}, TensorFlow ${(tf.backend() as unknown as { binding: { TF_Version: string } }).binding.TF_Version}`;
    const native = backend === 'tensorflow';
    console.log(`\nbench: backend ${backend}${native ? ` (TF_NUM_INTRAOP_THREADS=${process.env['TF_NUM_INTRAOP_THREADS']}, TF_NUM_INTEROP_THREADS=${process.env['TF_NUM_INTEROP_THREADS']})` : ''}`);
    const backendRows: Row[] = [];
    for (const w of list) {
      const ours = buildOurs(w.config);
      const theirs = worker === null ? null : await buildTorch(worker, w);
      let timing;
      try {
        timing = await timeRounds(ours.step, theirs?.time ?? null, native ? w : { warmup: 1, iters: w.iters, maxSeconds: WASM_SECONDS_PER_ROW, minIters: 2 });
      } finally {
        ours.dispose();
        await theirs?.dispose();
      }
      if (timing.rivalError !== null) console.log(`  ${w.name}: PyTorch failed: ${timing.rivalError}`);
      if (theirs !== null && theirs.params !== ours.params) throw new Error(`bench: ${w.name}: parameter counts differ (ours ${ours.params}, PyTorch ${theirs.params}); the mirror in bench/torch/models.py is wrong`);
      const oursMs = timing.ours.medianMs;
      const torchMs = timing.rival?.medianMs ?? null;
      if (w.config.kind === 'matmul' && (native || !Number.isFinite(ceiling))) ceiling = w.flops / (oursMs * 1e6);
      const row: Row = {
        backend,
        name: w.name,
        iters: timing.ours.samplesMs.length,
        oursMs,
        torchMs,
        flops: w.flops,
        ceilingGflops: ceiling,
        note: note(w, oursMs, torchMs, ours.params),
      };
      backendRows.push(row);
      const vs = row.torchMs === null ? '' : `, torch ${row.torchMs.toFixed(2)} ms (ours/torch ${(row.oursMs / row.torchMs).toFixed(2)})`;
      console.log(`  ${w.name}: ours ${row.oursMs.toFixed(2)} ms over ${row.iters}${vs}, ${gflops(row).toFixed(1)} GFLOP/s  [${((Date.now() - started) / 1000).toFixed(0)} s]`);
    }
    console.log(`\n${textTable(backendRows)}`);
    rows.push(...backendRows);
  }
  if (typeof torch !== 'string') torch.close();
  if (rows.length === 0) throw new Error('bench: no backend could run');

  await initBackend('tensorflow').catch(() => undefined);
  const machine: Machine = {
    ...isaOf(),
    paths: kernelPaths(isaOf().isaClass),
    date: new Date(started).toISOString(),
    cpu: cpuModel(),
    cores: threads,
    loadavg: loadAtStart,
    versions: `node ${process.version}, tfjs ${tf.version.tfjs}${tfVersion}, ${typeof torch === 'string' ? 'PyTorch unavailable' : `PyTorch ${torch.info.torch}`}`,
    threads: `TF intra-op ${process.env['TF_NUM_INTRAOP_THREADS']}, inter-op ${process.env['TF_NUM_INTEROP_THREADS']}; torch.set_num_threads(${threads}); wasm 1 thread (tfjs has no wasm threads in Node)`,
  };
  const elapsed = `${((Date.now() - started) / 1000).toFixed(0)} s`;
  if (flags.only !== null) {
    console.log(`\nbench: load average at end ${loadavg()}; partial run (--only) in ${elapsed}: results/bench/ left as it was`);
    return;
  }
  const paths = writeResults(join(projectRoot(), 'results', 'bench'), rows, machine);
  console.log(`\nbench: load average at end ${loadavg()}; wrote ${paths.join(', ')} in ${elapsed}`);
}

/** PyTorch's side of a row, built and warmed up in the worker; null (printed beside the row) if that fails. */
async function buildTorch(torch: TorchWorker, w: Workload): Promise<TorchRow | null> {
  try {
    return await torch.build(w);
  } catch (e) {
    console.log(`  ${w.name}: PyTorch failed: ${(e as Error).message}`);
    return null;
  }
}

function note(w: Workload, oursMs: number, torchMs: number | null, params: number): string {
  if (w.config.kind === 'certify') {
    const rate = (ms: number): string => `${Math.round((w.config as { batch: number }).batch / (ms / 1000)).toLocaleString('en-US')}`;
    return `passes/s: ours ${rate(oursMs)}, torch ${torchMs === null ? 'n/a' : rate(torchMs)}`;
  }
  return params > 0 ? `${params.toLocaleString('en-US')} params${torchMs === null ? '' : ' (equal in PyTorch)'}` : '';
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
