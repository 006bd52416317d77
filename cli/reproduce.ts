/**
 * `robustlab reproduce <experiment|all> [--scale smoke|full]`: run the paper experiments and analyses
 * and write results/<experiment>/ (CSV tables, summary.md, SVG figures) and results/README.md.
 */
import { join } from 'node:path';
import { projectRoot } from '../engine/project-root.js';
import { defaultRunsDir } from '../engine/run-plan.js';
import { EXPERIMENTS } from '../experiments/reproduce.js';
import { closeFigureRenderer, progressSink, writeReport, writeResultsIndex } from '../kernel/index.js';
import { formatSeconds, runPlansOnQueue } from '../queue/enqueue.js';
import { experimentPlans } from '../queue/experiment-plans.js';
import { PathStore } from '../queue/store.js';
import { parseFlags, UsageError, type Command } from './command.js';
import { enqueueFlags, rejectPoolFlagsWithoutQueue } from './queue.js';

/** Names that stand for several experiments. */
const GROUPS: Readonly<Record<string, readonly string[]>> = {
  all: Object.keys(EXPERIMENTS),
  theory: ['convex-convergence', 'sample-complexity'],
  'task-robust': ['task-robust-cv', 'task-robust-nlp'],
};

const usage = `robustlab reproduce <${[...Object.keys(EXPERIMENTS), ...Object.keys(GROUPS)].join('|')}> [--scale smoke|full] [--out DIR] [--runs DIR] [--seeds 0,1,2]
  --scale  smoke: minutes, for CI; full: the notebooks' scale (default full)
  --out    results folder (default <project>/results)
  --runs   run directories (default <project>/runs; finished runs are reused, interrupted ones resume)
  --only   run only these methods / model variants (names as in the tables), comma-separated
  --queue  train and certify on the worker pool at this Redis URL (see 'robustlab worker'), then write the
           same results here; a password belongs in REDIS_URL
  --store  with --queue: where plans and results travel, a folder every worker reaches (default: the runs
           directory, which it then also is), or 'redis' (the queue's Redis; small models)
  --shard-size  with --queue: test points per certification job (default: ~200,000 noisy passes per job)`;

export const reproduceCommand: Command = {
  name: 'reproduce',
  summary: 'run the paper experiments and analyses; write tables, figures and a summary under results/',
  usage,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { scale: 'string', out: 'string', runs: 'string', seeds: 'string', only: 'string', queue: 'string', store: 'string', 'shard-size': 'number' });
    rejectPoolFlagsWithoutQueue(flags);
    if (positionals.length !== 1) throw new UsageError(`reproduce needs one experiment name, group or 'all'; usage: ${usage.split('\n')[0]}`);
    const scale = (flags.scale as string | undefined) ?? 'full';
    if (scale !== 'smoke' && scale !== 'full') throw new UsageError(`--scale must be smoke or full, got '${scale}'`);
    const name = positionals[0]!;
    const names = GROUPS[name] ?? [name];
    for (const n of names) if (!EXPERIMENTS[n]) throw new UsageError(`unknown experiment '${n}'; choose one of ${[...Object.keys(EXPERIMENTS), ...Object.keys(GROUPS)].join(', ')}`);
    const seeds = flags.seeds === undefined ? undefined : String(flags.seeds).split(',').map((s) => {
      const v = Number(s);
      if (!Number.isInteger(v) || v < 0) throw new UsageError(`--seeds takes non-negative integers separated by commas, got '${flags.seeds}'`);
      return v;
    });
    const out = (flags.out as string | undefined) ?? join(projectRoot(), 'results');
    const only = flags.only !== undefined ? String(flags.only).split(',').map((x) => x.trim()) : undefined;
    let runsDir = flags.runs as string | undefined;
    const pool = flags.queue !== undefined ? await enqueueFlags(flags, runsDir ?? defaultRunsDir()) : null;
    // With a folder store and no --runs, the store is where the run directories are assembled.
    if (pool && runsDir === undefined) runsDir = pool.store instanceof PathStore ? pool.store.root : defaultRunsDir();
    try {
      for (const n of names) {
        const e = EXPERIMENTS[n]!;
        process.stderr.write(`== ${n}: ${e.title} (scale ${scale})\n`);
        if (pool) {
          const plans = experimentPlans(n, { scale, ...(seeds ? { seeds } : {}), ...(only ? { only } : {}) });
          if (plans === null) process.stderr.write(`[queue] ${n} has no list of plans for the pool: it runs here\n`);
          else {
            process.stderr.write(`[queue] ${plans.length} plan(s) to ${pool.target.shown}; store: ${pool.store.description}\n`);
            const report = await runPlansOnQueue(plans, { redis: pool.target, store: pool.store, runsDir: runsDir!, ...(pool.shardSize ? { shardSize: pool.shardSize } : {}), log: (l) => process.stderr.write(l + '\n') });
            process.stderr.write(`[queue] ${report.jobs} job(s) ran on the pool, ${report.reused} found done, in ${formatSeconds(report.seconds)}; assembling the results here\n`);
          }
        }
        const result = await e.run({
          scale,
          ...(runsDir !== undefined ? { runsDir } : {}),
          ...(seeds ? { seeds } : {}),
          ...(only ? { only } : {}),
          onProgress: progressSink(),
          onRun: (label, i, total) => process.stderr.write(`-- run ${i + 1}/${total}: ${label}\n`),
        });
        const files = await writeReport(result, out);
        process.stdout.write(`\n${result.summary}\n\n${n}: ${result.seconds.toFixed(0)} s on ${result.backend}; written to ${files.dir}\n`);
      }
      writeResultsIndex(out);
    } finally {
      await closeFigureRenderer();
      await pool?.store.close();
    }
    return 0;
  },
};
