/**
 * Registers the project's Jupyter kernel: tslab, started from the project root.
 *
 * Why a wrapper script rather than tslab's own `tslab install`: tslab compiles every cell with
 * rootDir = its working directory, and Jupyter starts a kernel in the notebook's folder, so a
 * notebook in notebooks/ could not import the project. The wrapper `cd`s to the project root
 * first, which makes a cell see the project exactly as a user's script at the root does
 * (see kernel/README.md for the import form that works).
 */
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot as findProjectRoot } from '../engine/project-root.js';

export const KERNEL_NAME = 'robustlab';
export const KERNEL_DISPLAY_NAME = 'robustlab (TypeScript)';

export interface KernelInstallOptions {
  /** Project root (the folder with robustlab's package.json); found from this file when omitted. */
  readonly projectRoot?: string;
  /** Jupyter data prefix; the spec goes to <prefix>/share/jupyter/kernels/robustlab. Default <projectRoot>/.jupyter. */
  readonly prefix?: string;
}

export interface KernelInstallation {
  readonly projectRoot: string;
  /** Folder holding kernel.json and the wrapper. */
  readonly kernelDir: string;
  readonly kernelJson: string;
  /** Executable shell script named in kernel.json's argv. */
  readonly wrapper: string;
  /** The tslab binary the wrapper execs. */
  readonly tslab: string;
  /** Value for JUPYTER_PATH so that Jupyter finds this kernel. */
  readonly jupyterPath: string;
}

function defaultPrefix(projectRoot: string): string {
  return join(projectRoot, '.jupyter');
}

/** JUPYTER_PATH under which `installKernel` with the same options registers the kernel. */
export function kernelEnv(options: KernelInstallOptions = {}): { JUPYTER_PATH: string } {
  const root = options.projectRoot ?? findProjectRoot();
  return { JUPYTER_PATH: join(resolve(options.prefix ?? defaultPrefix(root)), 'share', 'jupyter') };
}

/** Single-quotes a path for sh, so roots with spaces or quotes still work. */
function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

/**
 * Writes kernel.json and its wrapper (idempotent: running it again rewrites the same files).
 * Needs `npm install` to have run (tslab under node_modules/.bin).
 */
export async function installKernel(options: KernelInstallOptions = {}): Promise<KernelInstallation> {
  const projectRoot = resolve(options.projectRoot ?? findProjectRoot());
  const tslab = join(projectRoot, 'node_modules', '.bin', 'tslab');
  if (!existsSync(tslab)) throw new Error(`tslab is missing at ${tslab}; run npm install in ${projectRoot}`);
  const { JUPYTER_PATH: jupyterPath } = kernelEnv({ projectRoot, prefix: options.prefix });
  const kernelDir = join(jupyterPath, 'kernels', KERNEL_NAME);
  await mkdir(kernelDir, { recursive: true });

  const wrapper = join(kernelDir, 'kernel.sh');
  const script = [
    '#!/bin/sh',
    '# Written by `robustlab kernel install`: start tslab from the project root so cells import the project.',
    `cd ${shQuote(projectRoot)} || exit 1`,
    `exec ${shQuote(tslab)} kernel --config-path "$1"`,
    '',
  ].join('\n');
  await writeAtomic(wrapper, script, 0o755);

  const kernelJson = join(kernelDir, 'kernel.json');
  const spec = {
    argv: [wrapper, '{connection_file}'],
    display_name: KERNEL_DISPLAY_NAME,
    language: 'typescript',
  };
  await writeAtomic(kernelJson, `${JSON.stringify(spec, null, 2)}\n`, 0o644);
  return { projectRoot, kernelDir, kernelJson, wrapper, tslab, jupyterPath };
}
