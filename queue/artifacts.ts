/**
 * Moving a run's files between a machine's own run directory and the shared store. The store is the
 * source of truth: a pull replaces a local file that differs from the store's copy (a worker must never
 * certify with a half-trained checkpoint left in its scratch by an earlier, killed attempt), and a push
 * writes only complete files, after the engine has finished them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { PlanData } from '../dsl/plan-types.js';
import { writeFileAtomic } from '../engine/store/atomic-file.js';
import { runPaths } from '../engine/store/run-store.js';
import type { ArtifactStore } from './store.js';
import { sameFile } from './store.js';

/** plan.json exactly as the engine writes it (prepareRunDir compares the text). */
export function planJsonText(plan: PlanData): string {
  return JSON.stringify(plan, null, 2) + '\n';
}

/**
 * Paths (inside the run directory) of what training a plan through fine-tuning can leave: the pre-training
 * checkpoint and metrics (none for the raw-pixels control) and one classifier per task and label budget,
 * named as run-plan names them. Certification reads the first of each task.
 */
export function trainedArtifacts(plan: PlanData): string[] {
  const p = runPaths('');
  const ft = plan.spec.finetune;
  const budgets: readonly (number | null)[] = ft?.labelsPerClass ?? [null];
  const classifiers = (ft?.tasks ?? []).flatMap((t) => budgets.map((b) => p.classifier(b === null ? t : `${t}@${b}`)));
  return [p.checkpoint, p.metrics, ...classifiers];
}

/** The store's note that a stage job finished: written after its files, it lists them. */
export function stageMarkerPath(stage: string): string {
  return `stages/${stage}.json`;
}

export interface StageMarker {
  /** The files the stage left, in the store. */
  readonly files: readonly string[];
  readonly worker: string;
  readonly backend: string;
  /** TensorFlow's intra-op threads on the worker: training numerics depend on them (inference does not). */
  readonly threads: number;
  readonly seconds: number;
}

/** The intra-op threads TensorFlow uses in this process: TF_NUM_INTRAOP_THREADS, else (its default) one per core. */
export function tensorflowThreads(): number {
  const set = Number(process.env['TF_NUM_INTRAOP_THREADS']);
  return Number.isInteger(set) && set > 0 ? set : availableParallelism();
}

/** The certify stage's own TSV of (task, sigma), inside the run directory. */
export function certifyTsvPath(task: string, sigma: number): string {
  return runPaths('').certifyTsv(task, sigma);
}

/** Copies the store's files into runDir where they differ; returns the paths the store does not have. */
export async function pull(store: ArtifactStore, hash: string, runDir: string, paths: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const path of paths) {
    const local = join(runDir, path);
    const shared = store.localPath(hash, path);
    if (shared !== null && sameFile(shared, local)) continue;
    const bytes = await store.get(hash, path);
    if (bytes === null) {
      missing.push(path);
      continue;
    }
    if (existsSync(local) && readFileSync(local).equals(bytes)) continue;
    writeFileAtomic(local, bytes);
  }
  return missing;
}

/** Writes runDir's files (those that exist) to the store where it lacks them or holds other bytes. */
export async function push(store: ArtifactStore, hash: string, runDir: string, paths: readonly string[]): Promise<string[]> {
  const files: [string, Buffer][] = [];
  for (const path of paths) {
    const local = join(runDir, path);
    if (!existsSync(local)) continue;
    const shared = store.localPath(hash, path);
    if (shared !== null && sameFile(shared, local)) continue;
    const bytes = readFileSync(local);
    const held = await store.get(hash, path);
    if (held !== null && held.equals(bytes)) continue;
    files.push([path, bytes]);
  }
  await store.put(hash, files);
  return files.map(([p]) => p);
}
