/**
 * One process per plan (issue #10): a second run of a plan that is running fails with the lock's
 * EngineError naming the holder's pid; once the holder is SIGKILLed its lock is stale and a new run
 * takes it over and completes.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pretrain } from '../../dsl/index.js';
import { initBackend } from '../../engine/backend/selection.js';
import { EngineError } from '../../engine/errors.js';
import { runPlan } from '../../engine/run-plan.js';
import { ROOT } from './child-run.js';

describe('run lock', () => {
  beforeAll(async () => void (await initBackend()));

  it('refuses a second run while the first lives, and takes over the lock once it is killed', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'rl-lock-'));
    const pipeline = pretrain({ dataset: 'fashionMnist', steps: 20, batchSize: 4, width: 4, depth: 1, seed: 5 }).splitTasks(2);
    const plan = pipeline.compile({ target: 'cpu' }).toJSON();
    const spec = join(tmp, 'spec.json');
    writeFileSync(spec, JSON.stringify(pipeline.toJSON()));
    const runsDir = join(tmp, 'runs');
    const lockPath = join(runsDir, plan.hash, 'lock');
    // The holder runs on the pure-JS backend (about a second per step), so it is still running when we ask.
    const holder = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/reliability/run-plan.ts', spec, runsDir], {
      cwd: ROOT,
      env: { ...process.env, ROBUSTLAB_BACKEND: 'cpu' },
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => holder.on('exit', (_code, signal) => resolve(signal)));
    try {
      const deadline = Date.now() + 60_000;
      while (!(existsSync(lockPath) && readFileSync(lockPath, 'utf8').includes(`"pid":${holder.pid}`))) {
        if (Date.now() > deadline) throw new Error('the holder never took the lock');
        await new Promise((r) => setTimeout(r, 20));
      }
      const second = await runPlan(plan, { runsDir, quiet: true }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(second).toBeInstanceOf(EngineError);
      expect((second as Error).message).toContain(`already running in process ${holder.pid}`);
      expect((second as Error).message).not.toContain('\n');
    } finally {
      holder.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    expect(readFileSync(lockPath, 'utf8')).toContain(`"pid":${holder.pid}`); // a stale lock is left behind
    const result = await runPlan(plan, { runsDir, quiet: true });
    expect(result.pretrain?.steps).toBe(20);
    expect(existsSync(join(runsDir, plan.hash, 'results.json'))).toBe(true);
    expect(existsSync(lockPath)).toBe(false);
  });
});
