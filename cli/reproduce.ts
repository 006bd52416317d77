/**
 * `robustlab reproduce <experiment|all> [--scale smoke|full]`: run the paper experiments and analyses
 * and write results/<experiment>/ (CSV tables, summary.md, SVG figures) and results/README.md.
 */
import { join } from 'node:path';
import { projectRoot } from '../engine/project-root.js';
import { EXPERIMENTS } from '../experiments/reproduce.js';
import { closeFigureRenderer, progressSink, writeReport, writeResultsIndex } from '../kernel/index.js';
import { parseFlags, UsageError, type Command } from './command.js';

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
  --only   run only these methods / model variants (names as in the tables), comma-separated`;

export const reproduceCommand: Command = {
  name: 'reproduce',
  summary: 'run the paper experiments and analyses; write tables, figures and a summary under results/',
  usage,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { scale: 'string', out: 'string', runs: 'string', seeds: 'string', only: 'string' });
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
    try {
      for (const n of names) {
        const e = EXPERIMENTS[n]!;
        process.stderr.write(`== ${n}: ${e.title} (scale ${scale})\n`);
        const result = await e.run({
          scale,
          ...(flags.runs !== undefined ? { runsDir: flags.runs as string } : {}),
          ...(seeds ? { seeds } : {}),
          ...(flags.only !== undefined ? { only: String(flags.only).split(',').map((x) => x.trim()) } : {}),
          onProgress: progressSink(),
          onRun: (label, i, total) => process.stderr.write(`-- run ${i + 1}/${total}: ${label}\n`),
        });
        const files = await writeReport(result, out);
        process.stdout.write(`\n${result.summary}\n\n${n}: ${result.seconds.toFixed(0)} s on ${result.backend}; written to ${files.dir}\n`);
      }
      writeResultsIndex(out);
    } finally {
      await closeFigureRenderer();
    }
    return 0;
  },
};
