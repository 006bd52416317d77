/**
 * Kill-and-resume (issue #10): a run SIGKILLed at random moments — during pre-training, during
 * certification — and then resumed ends with exactly the results of an uninterrupted run of the same
 * plan on the same backend, and never leaves a half-written run directory behind.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../engine/backend/selection.js';
import { loadCheckpoint } from '../../engine/store/checkpoint.js';
import { runPlan } from '../../engine/run-plan.js';
import { runPaths } from '../../engine/store/run-store.js';
import type { RunResult } from '../../dsl/plan-types.js';
import { runChild, seededChooser } from './child-run.js';
import { halfWritten, resultFacts, tinyPipeline, tsvFacts } from './tiny-run.js';

let backend: string;
let specPath: string;
let hash: string;
let reference: string;
const tmp = mkdtempSync(join(tmpdir(), 'rl-kill-'));

/**
 * After a SIGKILL: results.json absent (the run is not finished), and the checkpoints the run had reached
 * exist and verify. Every kill below comes after the first pre-training checkpoint (steps / 10), so the
 * pre-training checkpoint must be there; a kill in certification comes after fine-tuning, so the
 * classifier must be there too.
 */
function expectIntactAfterKill(runDir: string, stage: 'pretrain' | 'certify'): void {
  expect(existsSync(join(runDir, 'results.json'))).toBe(false);
  const p = runPaths(runDir);
  expect(existsSync(p.checkpoint), `no pre-training checkpoint in ${runDir}`).toBe(true);
  expect(() => loadCheckpoint(p.checkpoint)).not.toThrow();
  if (stage === 'certify') {
    expect(existsSync(p.classifier('fashion-tops')), 'no classifier checkpoint after fine-tuning').toBe(true);
    expect(() => loadCheckpoint(p.classifier('fashion-tops'))).not.toThrow();
  }
}

describe('kill-and-resume', () => {
  beforeAll(async () => {
    backend = (await initBackend()).name;
    const pipeline = tinyPipeline(backend);
    hash = pipeline.compile({ target: 'cpu' }).toJSON().hash;
    specPath = join(tmp, 'spec.json');
    writeFileSync(specPath, JSON.stringify(pipeline.toJSON()));
    // The uninterrupted run, in this process (the children below are other processes on the same backend).
    const plan = pipeline.compile({ target: 'cpu' });
    const result = await runPlan(plan.toJSON(), { runsDir: join(tmp, 'reference'), quiet: true });
    expect(result.cached).toBe(false);
    // The time breakdown: every stage, in order, with the plan's FLOPs for all of its work (an uninterrupted run).
    expect(result.timing!.map((t) => t.stage)).toEqual(['load-data', 'pretrain', 'finetune', 'evaluate', 'certify']);
    for (const t of result.timing!) expect(t.seconds, t.stage).toBeGreaterThan(0);
    const planned = (kind: string) => plan.data.stages.find((s) => s.kind === kind)!.estimate.flops;
    const flops = (r: RunResult, stage: string) => r.timing!.find((t) => t.stage === stage)!.flops;
    for (const kind of ['pretrain', 'finetune', 'evaluate', 'certify']) expect(flops(result, kind) / planned(kind), kind).toBeCloseTo(1, 9);
    expect(flops(result, 'load-data')).toBe(0);
    reference = result.runDir;
  });

  it('killed twice in pre-training and once in certification, the resumed run equals the uninterrupted one exactly', async () => {
    const runsDir = join(tmp, 'killed');
    const runDir = join(runsDir, hash);
    const tsv = runPaths(runDir).certifyTsv('fashion-tops', 0.5);
    const choose = seededChooser(20261123);
    const total = tinyPipeline(backend).toJSON().pretrain.steps;
    const every = backend === 'tensorflow' ? 10 : total / 2; // a progress line every 10 steps (and at the end)
    let after = 0;
    for (let kill = 0; kill < 2; kill++) {
      after = Math.min(total - every, after + every * choose(1, 2));
      const delayMs = choose(0, 250);
      const out = await runChild([specPath, runsDir], backend, { line: (l) => /^pretrain \d+$/.test(l) && Number(l.split(' ')[1]) >= after, delayMs });
      expect(out.signal, `kill ${kill} after step ${after} + ${delayMs} ms: ${out.stderr}`).toBe('SIGKILL');
      expectIntactAfterKill(runDir, 'pretrain');
    }
    const rows = choose(1, 4);
    const killed = await runChild([specPath, runsDir], backend, { file: { path: tsv, lines: 1 + rows }, delayMs: choose(0, 20) });
    expect(killed.signal, `kill in certification after ${rows} rows: ${killed.stderr}`).toBe('SIGKILL');
    expectIntactAfterKill(runDir, 'certify');
    const text = readFileSync(tsv, 'utf8');
    const kept = text.slice(0, text.lastIndexOf('\n') + 1);
    expect(kept.split('\n').length - 2).toBeGreaterThanOrEqual(rows);
    // A process killed inside writeFileAtomic leaves its temp file; the next run must clear it.
    writeFileSync(join(runDir, 'pretrain', '.checkpoint.bin.999999.tmp'), 'torn');

    const out = await runChild([specPath, runsDir], backend);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`done ${backend} false`);
    expect(halfWritten(runDir)).toEqual([]);
    expect(resultFacts(runDir)).toEqual(resultFacts(reference));
    // The resumed run's breakdown counts only the work it did: fewer pre-training steps and certification rows.
    const resumed = JSON.parse(readFileSync(runPaths(runDir).results, 'utf8')) as RunResult;
    const referenceResult = JSON.parse(readFileSync(runPaths(reference).results, 'utf8')) as RunResult;
    const flopsOf = (r: RunResult, stage: string) => r.timing!.find((t) => t.stage === stage)?.flops ?? 0;
    expect(flopsOf(resumed, 'pretrain')).toBeLessThan(flopsOf(referenceResult, 'pretrain'));
    expect(flopsOf(resumed, 'certify')).toBeLessThan(flopsOf(referenceResult, 'certify'));
    expect(flopsOf(resumed, 'finetune')).toBe(0); // the classifier was saved before the kill in certification
    expect(readFileSync(join(runDir, 'pretrain', 'metrics.csv'), 'utf8')).toBe(readFileSync(join(reference, 'pretrain', 'metrics.csv'), 'utf8'));
    expect(readFileSync(tsv, 'utf8').startsWith(kept)).toBe(true); // certified rows are kept, not recomputed
    expect(tsvFacts(tsv)).toEqual(tsvFacts(runPaths(reference).certifyTsv('fashion-tops', 0.5)));
  });
});
