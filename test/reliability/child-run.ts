/**
 * Runs a Spec in a child process (test/fixtures/reliability/run-plan.ts) and lets a test SIGKILL it at a
 * chosen moment: after a progress line, or once a file has enough lines. The child's backend is forced
 * with ROBUSTLAB_BACKEND so that every process of one test computes on the same backend.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNNER = join(ROOT, 'test', 'fixtures', 'reliability', 'run-plan.ts');

export interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KillWhen {
  /** Kill once a stdout line satisfies this (e.g. `pretrain 30`)... */
  readonly line?: (line: string) => boolean;
  /** ...or once this file has at least `lines` lines (polled every 5 ms). */
  readonly file?: { readonly path: string; readonly lines: number };
  /** Wait this long after the condition before the SIGKILL. */
  readonly delayMs?: number;
}

/** Node + tsx running `script` with args; resolves when it exits (by itself or by our SIGKILL). */
export function runChild(args: readonly string[], backend: string, kill?: KillWhen, script = RUNNER): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: ROOT,
      env: { ...process.env, ROBUSTLAB_BACKEND: backend, TF_CPP_MIN_LOG_LEVEL: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let armed = false;
    const fire = () => {
      if (armed) return;
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), kill?.delayMs ?? 0);
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (kill?.line && stdout.split('\n').some((l) => kill.line!(l))) fire();
    });
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    const poll = kill?.file
      ? setInterval(() => {
          const f = kill.file!;
          if (existsSync(f.path) && readFileSync(f.path, 'utf8').split('\n').length - 1 >= f.lines) fire();
        }, 5)
      : undefined;
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (poll) clearInterval(poll);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A tiny seeded generator (mulberry32) for choosing kill points reproducibly. */
export function seededChooser(seed: number): (lo: number, hi: number) => number {
  let a = seed >>> 0;
  return (lo, hi) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return lo + Math.floor(u * (hi - lo + 1));
  };
}
