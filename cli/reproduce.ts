/**
 * `robustlab reproduce <experiment|all> [--scale smoke|full]`: run the paper experiments and analyses
 * and write their tables, figures and summary.
 *
 * Only the paper reproduction itself — `--scale full` with no `--only` or `--seeds` — writes the
 * committed folders results/<experiment>/, and after each one refreshes results/README.md,
 * results/index.html and the README's results section. A smoke run writes results/smoke/<experiment>/
 * and a custom one (full sizes with --only or --seeds) results/custom/<experiment>/; git ignores both,
 * so CI and quick checks never touch the published numbers. Each folder is replaced as a whole once
 * its experiment has finished (kernel/atomic-folder.ts): an interrupted run leaves the old one intact.
 */
import { join, resolve } from 'node:path';
import { projectRoot } from '../engine/project-root.js';
import { defaultRunsDir } from '../engine/run-plan.js';
import { EXPERIMENTS } from '../experiments/reproduce.js';
import type { RunResult } from '../dsl/plan-types.js';
import { closeFigureRenderer, collectProvenance, formatTimeBreakdown, progressSink, timeBreakdown, writeReport, writeResultsIndex, writeResultsPage, writeResultsViews } from '../kernel/index.js';
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

const usage = `robustlab reproduce <${[...Object.keys(EXPERIMENTS), ...Object.keys(GROUPS)].join('|')}> [--scale smoke|full] [--out DIR] [--runs DIR] [--seeds 0,1,2] [--only a,b]
  --scale  smoke: minutes, for CI (writes results/smoke/); full: the paper's scale (default; writes results/)
  --out    results folder (default: results/ for a full run, results/smoke/ or results/custom/ otherwise)
  --runs   run directories (default <project>/runs; finished runs are reused, interrupted ones resume)
  --seeds  override the scale's seeds (a custom run: writes results/custom/)
  --only   run only these methods / model variants (names as in the tables), comma-separated (a custom run)
  --queue  train and certify on the worker pool at this Redis URL (see 'robustlab worker'), then write the
           same results here; a password belongs in REDIS_URL
  --store  with --queue: where plans and results travel, a folder every worker reaches (default: the runs
           directory, which it then also is), or 'redis' (the queue's Redis; small models)
  --shard-size  with --queue: test points per certification job (default: ~200,000 noisy passes per job)`;

/**
 * Where a run's folders go, and what kind of run it is: only `full` without --only/--seeds is the
 * paper reproduction and writes <root>/results; smoke and custom runs get their own ignored folders.
 */
export function resultsDestination(o: { scale: 'smoke' | 'full'; seeds?: readonly number[]; only?: readonly string[]; out?: string; root: string }): {
  kind: 'full' | 'smoke' | 'custom';
  out: string;
  published: boolean;
} {
  const kind = o.scale === 'smoke' ? 'smoke' : o.seeds || o.only ? 'custom' : 'full';
  const published = resolve(o.root, 'results');
  const out = resolve(o.out ?? (kind === 'full' ? published : join(published, kind)));
  if (kind !== 'full' && out === published) {
    throw new UsageError(`results/ holds only full-scale runs without --only/--seeds; this ${kind} run writes to results/${kind}/ (leave out --out)`);
  }
  return { kind, out, published: out === published };
}

export const reproduceCommand: Command = {
  name: 'reproduce',
  summary: 'run the paper experiments and analyses; full scale writes results/, smoke results/smoke/',
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
      if (s.trim() === '' || !Number.isInteger(v) || v < 0) throw new UsageError(`--seeds takes non-negative integers separated by commas, got '${flags.seeds}'`);
      return v;
    });
    const only = flags.only === undefined ? undefined : String(flags.only).split(',').map((x) => x.trim());

    const root = projectRoot();
    const { kind, out, published } = resultsDestination({ scale, root, ...(seeds ? { seeds } : {}), ...(only ? { only } : {}), ...(flags.out !== undefined ? { out: flags.out as string } : {}) });
    const options = { ...(seeds ? { seeds } : {}), ...(only ? { only } : {}) };
    let runsDir = flags.runs as string | undefined;
    const pool = flags.queue !== undefined ? await enqueueFlags(flags, runsDir ?? defaultRunsDir()) : null;
    // With a folder store and no --runs, the store is where the run directories are assembled.
    if (pool && runsDir === undefined) runsDir = pool.store instanceof PathStore ? pool.store.root : defaultRunsDir();
    try {
      for (const n of names) {
        const e = EXPERIMENTS[n]!;
        process.stderr.write(`== ${n}: ${e.title} (scale ${scale}${kind === 'custom' ? ', custom' : ''})\n`);
        if (pool) {
          const plans = experimentPlans(n, { scale, ...options });
          if (plans === null) process.stderr.write(`[queue] ${n} has no list of plans for the pool: it runs here\n`);
          else {
            process.stderr.write(`[queue] ${plans.length} plan(s) to ${pool.target.shown}; store: ${pool.store.description}\n`);
            const report = await runPlansOnQueue(plans, { redis: pool.target, store: pool.store, runsDir: runsDir!, ...(pool.shardSize ? { shardSize: pool.shardSize } : {}), log: (l) => process.stderr.write(l + '\n') });
            process.stderr.write(`[queue] ${report.jobs} job(s) ran on the pool, ${report.reused} found done, in ${formatSeconds(report.seconds)}; assembling the results here\n`);
          }
        }
        const started = performance.now();
        const runs: RunResult[] = [];
        const result = await e.run({
          scale,
          ...(runsDir !== undefined ? { runsDir } : {}),
          ...options,
          onProgress: progressSink(),
          onRun: (label, i, total) => process.stderr.write(`-- run ${i + 1}/${total}: ${label}\n`),
          onRunResult: (r) => runs.push(r),
        });
        const provenance = collectProvenance({ root, backend: result.backend, scale: kind, options });
        const files = await writeReport(result, out, { provenance });
        // The views follow every finished experiment, so they never describe a folder that is not there.
        if (published) writeResultsViews(out, join(root, 'README.md'));
        else {
          writeResultsIndex(out);
          writeResultsPage(out);
        }
        process.stdout.write(`\n${result.summary}\n\n${n}: ${result.seconds.toFixed(0)} s on ${result.backend}; written to ${files.dir}\n`);
        process.stdout.write(`${formatTimeBreakdown(n, timeBreakdown(runs, (performance.now() - started) / 1000))}\n`);
      }
    } finally {
      await closeFigureRenderer();
      await pool?.store.close();
    }
    return 0;
  },
};
