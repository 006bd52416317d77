/**
 * The tiny plan the reliability tests run (pre-train 3 label tasks with minimax, fine-tune, evaluate,
 * certify) and helpers to read a finished run's facts without its timings.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pretrain } from '../../dsl/index.js';
import type { RunResult } from '../../dsl/plan-types.js';

/** Fewer steps off the native backend, where a step costs ~50x more. */
export function tinyPipeline(backend: string) {
  return pretrain({ dataset: 'fashionMnist', steps: backend === 'tensorflow' ? 60 : 12, batchSize: 4, width: 4, depth: 1, seed: 3 })
    .splitTasks(3)
    .minimax(5)
    .finetune('fashion-tops', { steps: 10, maxExamples: 200 })
    .evaluate({ maxExamples: 100 })
    .certify({ sigmas: [0.5], n0: 5, n: 40, points: 6, alpha: 0.01 });
}

/** What a finished run reports, minus wall-clock fields: must match exactly across kill-and-resume. */
export function resultFacts(runDir: string) {
  const r = JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8')) as RunResult;
  return {
    backend: r.backend,
    pretrain: r.pretrain && { steps: r.pretrain.steps, taskNames: r.pretrain.taskNames, finalTaskLosses: r.pretrain.finalTaskLosses, finalWeights: r.pretrain.finalWeights },
    finetune: r.finetune.map((f) => ({ task: f.task, trainAccuracy: f.trainAccuracy })),
    evaluate: r.evaluate,
    certify: r.certify && { rows: r.certify.rows, abstainRate: r.certify.abstainRate, points: r.certify.points },
  };
}

/** Certification rows without the `seconds` column (the sixth; `nA` and `n` follow it). */
export function tsvFacts(path: string): string[] {
  return readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => l.split('\t').filter((_, i) => i !== 5).join('\t'));
}

/** Files a killed run may leave behind that a complete store must not: temp files, torn results. */
export function halfWritten(runDir: string): string[] {
  const bad = readdirSync(runDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'));
  const results = join(runDir, 'results.json');
  if (existsSync(results)) {
    try {
      JSON.parse(readFileSync(results, 'utf8'));
    } catch {
      bad.push('results.json (not complete JSON)');
    }
  }
  return bad;
}
