/**
 * The run store: runs/<plan-hash>/ holds everything one plan produced.
 *
 *   plan.json                 the plan (written once; a different plan under the same hash is refused)
 *   lock                      {pid, host, startedAt} while a process runs the plan
 *   pretrain/checkpoint.bin   parameters + optimizer + RNG + history (latest, replaced atomically)
 *   pretrain/metrics.csv      per-step task losses and weights
 *   finetune/<task>.bin       the fine-tuned classifier (head, and the encoder copy in 'full' mode)
 *   certify/<task>-sigma-<s>.tsv  per-point certification rows, streamed
 *   results.json              the RunResult, written last: its presence means the run is complete
 *
 * Every file is written atomically, so a killed run leaves only complete files, and running the same
 * plan again resumes from them.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { EngineError } from '../errors.js';

export interface RunLock {
  readonly path: string;
  release(): void;
}

export function runPaths(runDir: string) {
  return {
    plan: join(runDir, 'plan.json'),
    lock: join(runDir, 'lock'),
    checkpoint: join(runDir, 'pretrain', 'checkpoint.bin'),
    metrics: join(runDir, 'pretrain', 'metrics.csv'),
    classifier: (task: string) => join(runDir, 'finetune', `${task}.bin`),
    certifyTsv: (task: string, sigma: number) => join(runDir, 'certify', `${task}-sigma-${sigma}.tsv`),
    results: join(runDir, 'results.json'),
  };
}

/** Creates the run directory (or checks that it holds this very plan) and writes plan.json. */
export function prepareRunDir(runDir: string, planJson: string): void {
  mkdirSync(runDir, { recursive: true });
  const path = join(runDir, 'plan.json');
  if (existsSync(path)) {
    const existing = readFileSync(path, 'utf8');
    if (existing !== planJson) {
      throw new EngineError(`${runDir} holds a different plan under the same hash; move that directory away or pass another runs directory`);
    }
    return;
  }
  writeFileAtomic(path, planJson);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the run's lock: one process per plan at a time. A lock left by a dead process on this host
 * is stale and taken over; a live holder makes this an EngineError naming its pid.
 */
export function acquireRunLock(runDir: string): RunLock {
  const path = join(runDir, 'lock');
  const me = JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, me);
      closeSync(fd);
      return {
        path,
        release: () => {
          try {
            const held = JSON.parse(readFileSync(path, 'utf8')) as { pid?: number };
            if (held.pid === process.pid) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder: { pid?: number; host?: string } = {};
    try {
      holder = JSON.parse(readFileSync(path, 'utf8')) as typeof holder;
    } catch {
      // An unreadable lock (torn write of a killed process) is stale.
    }
    if (typeof holder.pid === 'number' && holder.pid !== process.pid && (holder.host !== hostname() || processAlive(holder.pid))) {
      throw new EngineError(
        `this plan is already running in process ${holder.pid} on ${holder.host ?? 'this host'} (lock ${path}); wait for it, or stop it and run again`,
      );
    }
    try {
      unlinkSync(path); // stale: its process is gone
    } catch {
      // another process took it over first; retry
    }
  }
  throw new EngineError(`could not take the lock ${path}; another process keeps taking it over`);
}

/**
 * Deletes the temporary files (writeFileAtomic's `.<name>.<pid>.tmp`) that a process killed mid-write left
 * in the run directory. Call it only while holding the run's lock: then no live writer owns them.
 */
export function removeStaleTempFiles(runDir: string): string[] {
  const removed: string[] = [];
  for (const entry of readdirSync(runDir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /^\..+\.\d+\.tmp$/.test(entry.name)) {
      const path = join(entry.parentPath ?? entry.path, entry.name);
      unlinkSync(path);
      removed.push(path);
    }
  }
  return removed;
}
