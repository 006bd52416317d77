/**
 * The PyTorch side: a long-lived Python worker (bench/torch/server.py) in .venv-bench, driven one JSON
 * line per request: each row is built (and warmed up) once, then timed in blocks that alternate with
 * ours, so both sides see the same machine load, then disposed. scripts/setup-bench.sh creates the venv
 * (idempotent) the first time. When no PyTorch can be had the bench says so in one line and prints our
 * side alone.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from '../engine/project-root.js';
import type { Workload } from './workloads.js';

export interface TorchInfo {
  readonly torch: string;
  readonly numpy: string;
  readonly threads: number;
  readonly interop: number;
}

/** One workload built in the worker; the worker holds one at a time. */
export interface TorchRow {
  /** Trainable parameters of PyTorch's mirror (must equal ours). */
  readonly params: number;
  /** Times `n` more iterations; throws with PyTorch's error. */
  readonly time: (n: number) => Promise<number[]>;
  /** Drops the row in the worker (errors ignored: a dead worker holds nothing). */
  readonly dispose: () => Promise<void>;
}

/**
 * PyTorch's CPU tuning, the standard advice for its CPU performance, so that we compare against PyTorch
 * at its best on this kind of machine (measured here: 3.8x faster image training step at 1 thread):
 * - glibc keeps freed memory instead of returning it to the OS (PyTorch has no CPU caching allocator,
 *   so every large activation is a fresh mmap whose page faults are slow in a VM; TensorFlow's
 *   allocator reuses memory);
 * - OpenMP worker threads sleep instead of spinning (on a shared machine spinning workers stall).
 */
export const TORCH_ENV = {
  GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=17179869184',
  OMP_WAIT_POLICY: 'PASSIVE',
} as const;

type Reply = { ok: true; [key: string]: unknown } | { ok: false; error: string };

export class TorchWorker {
  private readonly waiting: ((r: Reply) => void)[] = [];
  private stderrTail = '';
  /** Why the worker is gone (later requests fail at once with it), or null while it runs. */
  private exited: string | null = null;

  /** Versions and thread counts the worker reported. */
  info: TorchInfo = { torch: '', numpy: '', threads: 0, interop: 0 };

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  /** Starts the worker with `threads` intra-op threads; returns a one-line reason when PyTorch is unavailable. */
  static async start(threads: number): Promise<TorchWorker | string> {
    const root = projectRoot();
    const python = join(root, '.venv-bench', 'bin', 'python');
    if (!existsSync(python) || spawnSync(python, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status !== 0) {
      console.log('bench: setting up PyTorch in .venv-bench (scripts/setup-bench.sh) ...');
      const setup = spawnSync('bash', [join(root, 'scripts', 'setup-bench.sh')], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
      if (setup.status !== 0) {
        const last = (setup.stderr ?? '').trim().split('\n').pop() ?? '';
        return `PyTorch unavailable (${last || 'scripts/setup-bench.sh failed'}); printing our side only`;
      }
    }
    const env = { ...process.env, ...TORCH_ENV, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), PYTHONUNBUFFERED: '1' };
    const child = spawn(python, [join(root, 'bench', 'torch', 'server.py')], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const worker = new TorchWorker(child);
    createInterface({ input: child.stdout }).on('line', (line) => worker.waiting.shift()?.(JSON.parse(line) as Reply));
    child.stderr.on('data', (d: Buffer) => (worker.stderrTail = (worker.stderrTail + d.toString()).slice(-2000)));
    child.on('exit', () => {
      const error = (worker.exited = `PyTorch worker exited: ${worker.stderrTail.trim().split('\n').pop() ?? ''}`);
      for (const w of worker.waiting.splice(0)) w({ ok: false, error });
    });
    const hello = await worker.request({ op: 'hello', threads });
    if (!hello.ok) {
      worker.close();
      return `PyTorch worker failed to start (${hello.error}); printing our side only`;
    }
    worker.info = { torch: String(hello['torch']), numpy: String(hello['numpy']), threads: Number(hello['threads']), interop: Number(hello['interop']) };
    return worker;
  }

  private request(msg: object): Promise<Reply> {
    if (this.exited !== null) return Promise.resolve({ ok: false, error: this.exited });
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(JSON.stringify(msg) + '\n');
    });
  }

  private async call(msg: object): Promise<Record<string, unknown>> {
    const r = await this.request(msg);
    if (!r.ok) throw new Error(r.error);
    return r;
  }

  /** Builds a workload in the worker and runs the same warm-up there as ours; throws with PyTorch's error. */
  async build(w: Workload): Promise<TorchRow> {
    const r = await this.call({ op: 'build', name: w.name, config: w.config, warmup: w.warmup });
    return {
      params: r['params'] as number,
      time: async (iters) => (await this.call({ op: 'time', iters }))['samplesMs'] as number[],
      dispose: async () => void (await this.request({ op: 'dispose' })),
    };
  }

  close(): void {
    this.child.stdin.end();
  }
}
