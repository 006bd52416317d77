/**
 * `robustlab run <file>`: compile a pipeline file (Spec .json or a module exporting a pipeline) and
 * run it; prints the result as a table (or JSON). A finished plan returns its stored result; an
 * interrupted one resumes.
 */
import { runPlan } from '../engine/run-plan.js';
import { parseFlags, UsageError, type Command } from './command.js';
import { planFromFile } from './plan.js';
import { progressSink } from '../kernel/progress.js';
import { formatTimeBreakdown, timeBreakdown } from '../kernel/time-breakdown.js';

const usage = `robustlab run <file> [--target cpu|gpu|auto] [--runs DIR] [--fresh] [--json] [--quiet]
  --fresh  start this plan over (its previous run directory is kept as runs/<hash>.replaced-<time>)`;

export const runCommand: Command = {
  name: 'run',
  summary: 'compile and run a pipeline file; resumes an interrupted run, reuses a finished one',
  usage,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { target: 'string', runs: 'string', fresh: 'boolean', json: 'boolean', quiet: 'boolean' });
    if (positionals.length !== 1) throw new UsageError(`run needs exactly one pipeline file; usage: ${usage.split('\n')[0]}`);
    const plan = await planFromFile(positionals[0]!, flags.target !== undefined ? { target: flags.target as 'cpu' } : {});
    const quiet = flags.quiet === true;
    if (!quiet) process.stderr.write(plan.explain() + '\n');
    const result = await runPlan(plan.toJSON(), {
      ...(flags.runs !== undefined ? { runsDir: flags.runs as string } : {}),
      resume: flags.fresh !== true,
      quiet,
      ...(quiet ? {} : { onProgress: progressSink() }),
    });
    if (flags.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return 0;
    }
    const lines = [`run ${result.hash} on ${result.backend}${result.cached ? ' (stored result)' : ''}: ${result.runDir}`];
    if (result.pretrain) lines.push(`pretrain: ${result.pretrain.steps} steps; final task losses ${result.pretrain.taskNames.map((t, i) => `${t} ${result.pretrain!.finalTaskLosses[i]!.toFixed(4)} (p ${result.pretrain!.finalWeights[i]!.toFixed(3)})`).join(', ')}`);
    if (result.evaluate) {
      lines.push('task\taccuracy');
      for (const t of result.evaluate.tasks) lines.push(`${t.task}\t${(100 * t.accuracy).toFixed(2)}%`);
      lines.push(`average\t${(100 * result.evaluate.average).toFixed(2)}%`, `worst\t${(100 * result.evaluate.worst).toFixed(2)}% (${result.evaluate.worstTask})`);
    }
    if (result.certify) {
      lines.push(`certified accuracy (${result.certify.points} points of ${result.certify.task}):`);
      lines.push(['sigma', ...result.certify.radii.map((r) => `r=${r}`)].join('\t'));
      for (const s of result.certify.sigmas) lines.push([s, ...result.certify.rows.filter((r) => r.sigma === s).map((r) => `${(100 * r.certifiedAccuracy).toFixed(1)}%`)].join('\t'));
    }
    if (!result.cached && result.timing) lines.push(formatTimeBreakdown(`run ${result.hash}`, timeBreakdown([result], result.seconds)));
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
