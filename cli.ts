#!/usr/bin/env node
/**
 * The robustlab command line. A user's mistake (UsageError, DslError, DatasetError, EngineError)
 * prints one line and exits 2; anything else is our bug and prints its stack (exit 1).
 */
import { certifyCommand } from './cli/certify.js';
import { isUserError, type Command } from './cli/command.js';
import { dataCommand } from './cli/data.js';
import { doctorCommand } from './cli/doctor.js';
import { kernelCommand } from './cli/kernel.js';
import { planCommand } from './cli/plan.js';
import { queueCommand } from './cli/queue.js';
import { reproduceCommand } from './cli/reproduce.js';
import { resultsCommand } from './cli/results.js';
import { runCommand } from './cli/run.js';
import { startCommand } from './cli/start.js';
import { workerCommand } from './cli/worker.js';

const COMMANDS: readonly Command[] = [startCommand, runCommand, planCommand, reproduceCommand, resultsCommand, certifyCommand, workerCommand, queueCommand, dataCommand, kernelCommand, doctorCommand];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'robustlab — task-robust and certified-robust pre-training (typed DSL -> plan -> TensorFlow.js)',
    '',
    'usage: robustlab <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "'robustlab help <command>' shows a command's options.",
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const cmd = COMMANDS.find((c) => c.name === rest[0]);
    process.stdout.write((cmd ? cmd.usage : help()) + '\n');
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`robustlab: unknown command '${name}'; commands: ${COMMANDS.map((c) => c.name).join(', ')} (robustlab help)\n`);
    return 2;
  }
  if (rest.includes('--help')) {
    process.stdout.write(cmd.usage + '\n');
    return 0;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isUserError(e)) {
      const line = e.message.split('\n')[0]!;
      const cmd = process.argv[2] ?? '';
      process.stderr.write(`robustlab ${line.startsWith(`${cmd}`) ? line : `${cmd}: ${line}`}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`robustlab: internal error (please report it):\n${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
