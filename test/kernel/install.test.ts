import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelCommand } from '../../cli/kernel.js';
import { isUserError } from '../../cli/command.js';
import { installKernel, kernelEnv, KERNEL_NAME } from '../../kernel/install.js';
import { projectRoot } from '../../engine/project-root.js';

const prefix = mkdtempSync(join(tmpdir(), 'robustlab-kernel-'));
afterAll(() => rmSync(prefix, { recursive: true, force: true }));

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

describe('installKernel', () => {
  it('writes a kernelspec whose argv is an executable wrapper that starts tslab from the project root', async () => {
    const k = await installKernel({ prefix });
    expect(k.kernelDir).toBe(join(prefix, 'share', 'jupyter', 'kernels', KERNEL_NAME));
    expect(k.jupyterPath).toBe(kernelEnv({ prefix }).JUPYTER_PATH);

    const spec = JSON.parse(readFileSync(join(k.kernelDir, 'kernel.json'), 'utf8')) as { argv: string[]; display_name: string; language: string };
    expect(spec.display_name).toBe('robustlab (TypeScript)');
    expect(spec.language).toBe('typescript');
    expect(spec.argv).toEqual([k.wrapper, '{connection_file}']);
    expect(existsSync(spec.argv[0]!) && executable(spec.argv[0]!)).toBe(true);

    const script = readFileSync(k.wrapper, 'utf8');
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain(`cd '${projectRoot()}'`);
    expect(script).toContain(`exec '${k.tslab}' kernel --config-path "$1"`);
    expect(existsSync(k.tslab) && executable(k.tslab)).toBe(true);
  });

  it('is idempotent: a second install rewrites the same kernel.json', async () => {
    const first = readFileSync((await installKernel({ prefix })).kernelJson, 'utf8');
    expect(readFileSync((await installKernel({ prefix })).kernelJson, 'utf8')).toBe(first);
  });
});

describe('robustlab kernel', () => {
  it('install prints where it wrote and the jupyter command with JUPYTER_PATH', async () => {
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => (chunks.push(String(s)), true)) as typeof process.stdout.write;
    try {
      expect(await kernelCommand.run(['install', '--prefix', prefix])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const out = chunks.join('');
    expect(out).toContain(join(prefix, 'share', 'jupyter', 'kernels', 'robustlab'));
    expect(out).toContain(`JUPYTER_PATH=${join(prefix, 'share', 'jupyter')} jupyter lab notebooks/`);
  });

  it('rejects an unknown subcommand with a usage error naming install', async () => {
    const err = await kernelCommand.run(['start']).catch((e: unknown) => e);
    expect(isUserError(err)).toBe(true);
    expect((err as Error).message).toMatch(/kernel needs the subcommand 'install', got 'start'/);
  });
});
