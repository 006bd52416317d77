/**
 * Bad input on the command line (issue #10): every command given malformed input exits non-zero with
 * exactly one line on stderr, `robustlab <cmd>: <what is wrong>`, and no stack trace. A handful of cases
 * run the real CLI in child processes (the process-level contract); the rest call each command the way
 * cli.ts does and check that what it throws is a one-line user error (which cli.ts prints as one line).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certifyCommand } from '../../cli/certify.js';
import { isUserError, type Command } from '../../cli/command.js';
import { dataCommand } from '../../cli/data.js';
import { doctorCommand } from '../../cli/doctor.js';
import { kernelCommand } from '../../cli/kernel.js';
import { planCommand } from '../../cli/plan.js';
import { reproduceCommand } from '../../cli/reproduce.js';
import { runCommand } from '../../cli/run.js';
import { startCommand } from '../../cli/start.js';
import { ROOT } from '../reliability/child-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rl-cli-'));
const file = (name: string, text: string) => {
  writeFileSync(join(tmp, name), text);
  return join(tmp, name);
};
const notJson = file('broken.json', '{"version": 1, "pretrain": {');
const badValue = file('bad-value.json', JSON.stringify({ version: 1, pretrain: { dataset: 'fashionMnist', steps: -1 } }));
const unknownKey = file('unknown-key.json', JSON.stringify({ version: 1, pretrain: {}, splitTask: { k: 2 } }));
const good = file('good.json', JSON.stringify({ version: 1, pretrain: { steps: 5 } }));
const arraySpec = file('array.json', '[1, 2, 3]');
const badPlan = file('plan.json', JSON.stringify({ spec: { version: 1, pretrain: {} }, stages: 'none', hash: 'x' }));
const wrongExt = file('pipeline.yaml', 'pretrain: {}');
const noExport = file('no-export.mjs', 'export const x = 1;\n');
const notRunDir = join(tmp, 'not-a-run');
mkdirSync(notRunDir);

function cli(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

async function userErrorOf(cmd: Command, argv: readonly string[]): Promise<Error> {
  const thrown = await cmd.run(argv).then(() => null, (e: unknown) => e);
  if (!isUserError(thrown)) throw new Error(`${cmd.name} ${argv.join(' ')}: expected a user error, got ${thrown instanceof Error ? thrown.stack : String(thrown)}`);
  return thrown;
}

describe('CLI: malformed input is one line on stderr and a non-zero exit', () => {
  it('real processes: unknown command, unknown flag, missing file, malformed JSON, bad value, not a run dir', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^robustlab: unknown command 'frobnicate'; commands: .*$/],
      [['plan', notJson, '--colour'], /^robustlab plan: unknown option --colour; known: .*$/],
      [['run', join(tmp, 'missing.json')], /^robustlab run: (plan: )?cannot read .*missing\.json: ENOENT$/],
      [['plan', notJson], /^robustlab plan: (plan: )?.*broken\.json is not valid JSON \(.*\)$/],
      [['run', badValue], /^robustlab run: pretrain\(\{ steps \}\): steps must be an integer between 0 and 10000000, got -1 \(hint: 0 keeps the random initialisation \(the untrained control\)\)$/],
      [['certify', notRunDir], /^robustlab certify: .*not-a-run is not a run directory \(no plan\.json\); .*$/],
    ];
    // Two at a time: each child loads the CLI (and TypeScript through tsx).
    const outcomes: { code: number | null; stderr: string }[] = [];
    for (let i = 0; i < cases.length; i += 2) outcomes.push(...(await Promise.all(cases.slice(i, i + 2).map(([args]) => cli(args)))));
    cases.forEach(([args, pattern], i) => {
      const { code, stderr } = outcomes[i]!;
      expect(code, args.join(' ')).toBe(2);
      expect(stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(stderr.trimEnd()).toMatch(pattern);
      expect(stderr).not.toMatch(/\n\s+at /);
    });
  });

  it('every command rejects malformed arguments and files with a one-line user error', async () => {
    const cases: [Command, string[], RegExp][] = [
      [planCommand, [], /plan needs exactly one file, got 0/],
      [planCommand, [badValue, '--memory-budget', 'lots'], /option --memory-budget must be a number, got 'lots'/],
      [planCommand, [badValue, '--memory-budget', '-3'], /--memory-budget must be a positive number of GB, got -3/],
      [planCommand, [unknownKey], /Spec keys must be among .*got 'splitTask'/],
      [planCommand, [arraySpec], /the Spec must be an object/],
      [planCommand, [badPlan], /./],
      [planCommand, [wrongExt], /must be a \.json Spec or a \.js\/\.mjs\/\.ts module, got extension '\.yaml'/],
      [planCommand, [noExport], /must export a pipeline/],
      [planCommand, [badValue.replace('bad-value', 'absent')], /cannot read .*ENOENT/],
      [runCommand, [], /run needs exactly one pipeline file/],
      [runCommand, [notJson, '--runs'], /option --runs needs a value/],
      [runCommand, [good, '--target', 'tpu'], /target/],
      [certifyCommand, [], /certify needs one run directory/],
      [certifyCommand, [notRunDir, '--sigma', '-1'], /--sigma must be a positive number, got -1/],
      [certifyCommand, [notRunDir, '--n', '1e400'], /option --n must be a number, got '1e400'/],
      [certifyCommand, [notRunDir, '--n0', '100', '--n', '50'], /--n0 \(100\) must be smaller than --n \(50\)/],
      [certifyCommand, [notRunDir, '--points', '2.5'], /--points must be a positive integer, got 2.5/],
      [certifyCommand, [notRunDir, '--alpha', '0.7'], /--alpha must be in \(0, 0.5\), got 0.7/],
      [certifyCommand, [notRunDir, '--radii', '0,x'], /--radii must be non-negative and increasing, got '0,x'/],
      [certifyCommand, [notRunDir], /is not a run directory \(no plan\.json\)/],
      [reproduceCommand, ['no-such-experiment'], /unknown experiment 'no-such-experiment'/],
      [reproduceCommand, ['all', '--scale', 'huge'], /--scale must be smoke or full, got 'huge'/],
      [reproduceCommand, ['all', '--seeds', '1,x'], /--seeds takes non-negative integers/],
      [dataCommand, ['info'], /data: expected 'list' or 'info <name>'/],
      [dataCommand, ['info', 'cifar10'], /data info: unknown name 'cifar10'/],
      [kernelCommand, ['uninstall'], /kernel needs the subcommand 'install', got 'uninstall'/],
      [doctorCommand, ['--size', '-8'], /--size must be an integer in \[1, 16384\], got -8/],
      [doctorCommand, ['--size', 'big'], /option --size must be a number, got 'big'/],
      [startCommand, ['--scale'], /option --scale needs a value/],
    ];
    for (const [cmd, argv, pattern] of cases) {
      const e = await userErrorOf(cmd, argv);
      expect(e.message, `${cmd.name} ${argv.join(' ')}`).toMatch(pattern);
      expect(e.message, `${cmd.name} ${argv.join(' ')}`).not.toContain('\n');
    }
  });
});
