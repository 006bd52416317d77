/**
 * `robustlab certify <run-dir>`: certify a run's fine-tuned classifier with randomized smoothing at
 * the given settings, streaming per-point rows to <run-dir>/certify-cli/ (resumable), and print the
 * certified accuracy at each radius.
 */
import { dirname, join, resolve } from 'node:path';
import { initBackend, describeBackend } from '../engine/backend/selection.js';
import { certifyClassifier } from '../engine/certify/stage.js';
import { openRunClassifier, readRunPlan } from '../engine/open-run.js';
import { consoleProgress } from '../engine/progress.js';
import { certifyRunOnQueue, formatSeconds } from '../queue/enqueue.js';
import { shardConfig } from '../queue/jobs.js';
import { parseFlags, UsageError, type Command } from './command.js';
import { enqueueFlags, rejectPoolFlagsWithoutQueue } from './queue.js';

const usage = `robustlab certify <run-dir> [--sigma 0.25] [--n0 100] [--n 10000] [--alpha 0.001] [--points 100] [--batch 1000] [--radii 0,0.25,0.5,0.75,1] [--task NAME] [--sequential]
  <run-dir>  runs/<hash>/ of a run that fine-tuned an image classifier
  --sequential
             sequential CERTIFY: stop each point once more draws cannot change where it counts in certified accuracy
             (same 1 - alpha guarantee, 3.6x fewer noisy passes on the certified models)
  --queue URL [--store DIR|redis] [--shard-size N]
             certify on the worker pool at this Redis URL (see 'robustlab worker'): the same TSV and table
             as a local run; --store defaults to the run's runs directory (a password belongs in REDIS_URL)`;

function positive(name: string, v: unknown, integer: boolean): number {
  const n = v as number;
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  return n;
}

export const certifyCommand: Command = {
  name: 'certify',
  summary: "certify a run's classifier with randomized smoothing (Cohen et al.) and print certified accuracy by radius",
  usage,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { sigma: 'number', n0: 'number', n: 'number', alpha: 'number', points: 'number', batch: 'number', radii: 'string', task: 'string', sequential: 'boolean', queue: 'string', store: 'string', 'shard-size': 'number' });
    rejectPoolFlagsWithoutQueue(flags);
    if (positionals.length !== 1) throw new UsageError(`certify needs one run directory; usage: ${usage.split('\n')[0]}`);
    const sigma = positive('sigma', flags.sigma ?? 0.25, false);
    const n0 = positive('n0', flags.n0 ?? 100, true);
    const n = positive('n', flags.n ?? 10000, true);
    const alpha = (flags.alpha as number | undefined) ?? 0.001;
    if (!(alpha > 0 && alpha < 0.5)) throw new UsageError(`--alpha must be in (0, 0.5), got ${alpha}`);
    if (n0 >= n) throw new UsageError(`--n0 (${n0}) must be smaller than --n (${n})`);
    const points = positive('points', flags.points ?? 100, true);
    const batchSize = positive('batch', flags.batch ?? 1000, true);
    const radii = String(flags.radii ?? '0,0.25,0.5,0.75,1').split(',').map(Number);
    if (radii.some((r, i) => !(r >= 0) || (i > 0 && r <= radii[i - 1]!))) throw new UsageError(`--radii must be non-negative and increasing, got '${flags.radii}'`);
    const sequential = flags.sequential === true;
    const runDir = positionals[0]!;
    const stored = readRunPlan(runDir); // a path that is not a run directory is one line of error, before any backend loads
    if (flags.queue !== undefined) {
      const pool = await enqueueFlags(flags, dirname(resolve(runDir)));
      const task = (flags.task as string | undefined) ?? stored.spec.finetune?.tasks[0];
      if (task === undefined) throw new UsageError(`run ${stored.hash} has no finetune stage: there is no classifier to certify`);
      const settings = { task, sigma, n0, n, alpha, batchSize, points, ...(sequential ? { sequential: radii } : {}) };
      process.stderr.write(`[queue] certifying ${shardConfig(settings)} on ${pool.target.shown}; store: ${pool.store.description}\n`);
      try {
        const { report } = await certifyRunOnQueue(runDir, settings, { redis: pool.target, store: pool.store, runsDir: dirname(resolve(runDir)), ...(pool.shardSize ? { shardSize: pool.shardSize } : {}), log: (l) => process.stderr.write(l + '\n') });
        process.stderr.write(`[queue] ${report.jobs} job(s) ran on the pool, ${report.reused} found done, in ${formatSeconds(report.seconds)}\n`);
      } finally {
        await pool.store.close();
      }
    }
    const backend = await initBackend();
    process.stderr.write(`${describeBackend(backend)}\n`);
    const { plan, classifier } = openRunClassifier(runDir, flags.task as string | undefined);
    const { certified: result } = await certifyClassifier(
      { task: classifier.task, sigmas: [sigma], n0, n, alpha, radii, points, batchSize, seed: plan.seed, planHash: plan.hash, ...(sequential ? { sequential: true as const } : {}) },
      classifier,
      // The name the queue assembles its shards under: a queued run is found here complete.
      (task, s) => join(runDir, 'certify-cli', `${shardConfig({ task, sigma: s, n0, n, alpha, batchSize, ...(sequential ? { sequential: radii } : {}) })}.tsv`),
      consoleProgress(),
      (line) => process.stderr.write(line + '\n'),
    );
    process.stdout.write(`radius\tcertified_accuracy\n${result.rows.map((r) => `${r.radius}\t${r.certifiedAccuracy.toFixed(4)}`).join('\n')}\n`);
    process.stdout.write(`# ${result.points} points of ${classifier.task}, sigma ${sigma}, n0 ${n0}, n ${n}, alpha ${alpha}${sequential ? `, sequential (${result.passes![0]} noisy passes)` : ''}; abstained ${(100 * result.abstainRate[0]!).toFixed(1)}%; ${result.seconds.toFixed(1)} s\n`);
    return 0;
  },
};
