/**
 * The bench's output: a console table, `results/bench/<isa>/bench-<date>T<hhmm>.csv` (one row per backend and
 * workload, for regressions across commits, kept apart per instruction-set class: avx512, avx2, baseline; a new
 * run never replaces an earlier one's file), and `results/bench/latest-<isa>.md` (the table with the date, the
 * machine, its instruction sets and the kernel paths that ran), all written atomically.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../engine/store/atomic-file.js';
import { ROUNDS } from './timing.js';

export interface Row {
  readonly backend: string;
  readonly name: string;
  readonly iters: number;
  readonly oursMs: number;
  /** PyTorch's median on the same workload (null: PyTorch unavailable or failed). */
  readonly torchMs: number | null;
  readonly flops: number;
  /** Our achieved GFLOP/s divided by this, in percent, is the MFU. */
  readonly ceilingGflops: number;
  /** Extra words for the row (certification passes per second). */
  readonly note: string;
}

export interface Machine {
  /** When the run started (ISO). */
  readonly date: string;
  readonly cpu: string;
  readonly cores: number;
  /** Load average when the run started. */
  readonly loadavg: string;
  readonly versions: string;
  readonly threads: string;
  /** The vector instruction sets that matter here, e.g. 'avx2 fma' or 'avx2 fma avx512f amx'. */
  readonly isa: string;
  /** Which history the run belongs to: 'avx512' (x86-64-v4), 'avx2' (x86-64-v3) or 'baseline'. */
  readonly isaClass: string;
  /** The kernel paths that ran: products and convolutions (oneDNN or Eigen), our fused kernels' clone. */
  readonly paths: string;
}

const fmt = (x: number | null, digits = 1): string => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));

export function ratio(r: Row): number | null {
  return r.torchMs === null ? null : r.oursMs / r.torchMs;
}

export function gflops(r: Row): number {
  return r.flops / (r.oursMs * 1e6);
}

export function mfu(r: Row): number {
  return (100 * gflops(r)) / r.ceilingGflops;
}

const HEADER = ['benchmark', 'iters', 'ours ms (median)', 'torch ms', 'ratio ours/torch', 'our GFLOP/s', 'MFU %', 'note'];

function cells(r: Row): string[] {
  return [r.name, String(r.iters), fmt(r.oursMs, 2), fmt(r.torchMs, 2), fmt(ratio(r), 2), fmt(gflops(r)), fmt(mfu(r)), r.note];
}

/** Aligned plain-text table of one backend's rows. */
export function textTable(rows: readonly Row[]): string {
  const all = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 0 || i === c.length - 1 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(' | ');
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.slice().map((r) => line(cells(r)))].join('\n');
}

export function markdown(rows: readonly Row[], m: Machine): string {
  const byBackend = new Map<string, Row[]>();
  for (const r of rows) byBackend.set(r.backend, [...(byBackend.get(r.backend) ?? []), r]);
  const parts = [
    `# Benchmark: robustlab vs PyTorch (CPU)`,
    '',
    `Started ${m.date} on ${m.cpu}, ${m.cores} cores (load average at start: ${m.loadavg}).`,
    `${m.versions}. Threads: ${m.threads}.`,
    `Instruction sets: ${m.isa} (history: results/bench/${m.isaClass}/). Kernel paths: ${m.paths}.`,
    'Medians over the timed iterations after the same warm-up on both sides; ratio < 1 means we are faster.',
    `Each row is timed in ${ROUNDS} alternating rounds of ours then PyTorch, so both see the same load (fewer rounds for rows with under ${ROUNDS} timed iterations or that reach wasm's time cap; the wasm rows re-time PyTorch in their own rounds, on as many iterations as wasm ran).`,
    'MFU = our GFLOP/s / the native backend\'s measured 1024^3 matMul GFLOP/s (the machine\'s practical ceiling).',
  ];
  for (const [backend, rs] of byBackend) {
    parts.push('', `## backend: ${backend}`, '', `| ${HEADER.join(' | ')} |`, `|${HEADER.map((_, i) => (i === 0 || i === HEADER.length - 1 ? '---' : '---:')).join('|')}|`);
    for (const r of rs) parts.push(`| ${cells(r).join(' | ')} |`);
  }
  return parts.join('\n') + '\n';
}

export function csv(rows: readonly Row[], m: Machine): string {
  const head = 'date,cpu,isa,isa_class,paths,backend,benchmark,iters,ours_ms,torch_ms,ratio,our_gflops,mfu_percent,flops,ceiling_gflops,loadavg';
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  const lines = rows.map((r) =>
    [m.date, q(m.cpu), q(m.isa), m.isaClass, q(m.paths), r.backend, q(r.name), r.iters, r.oursMs.toFixed(3), r.torchMs?.toFixed(3) ?? '', ratio(r)?.toFixed(4) ?? '', gflops(r).toFixed(2), mfu(r).toFixed(2), r.flops, r.ceilingGflops.toFixed(2), q(m.loadavg)].join(','),
  );
  return [head, ...lines].join('\n') + '\n';
}

/** Writes both files under `dir`; returns their paths. */
export function writeResults(dir: string, rows: readonly Row[], m: Machine): string[] {
  const csvPath = join(dir, m.isaClass, `bench-${m.date.slice(0, 10)}T${m.date.slice(11, 13)}${m.date.slice(14, 16)}.csv`);
  const isaPath = join(dir, `latest-${m.isaClass}.md`);
  writeFileAtomic(csvPath, csv(rows, m));
  writeFileAtomic(isaPath, markdown(rows, m));
  return [csvPath, isaPath];
}
