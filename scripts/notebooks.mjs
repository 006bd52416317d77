#!/usr/bin/env node
/**
 * `npm run notebooks`: execute every notebooks/*.ipynb headless with the project's kernel
 * (nbconvert + tslab).
 *
 *   node scripts/notebooks.mjs [--scale smoke|full] [--dir DIR] [name ...]
 *
 * - `--scale full` writes each executed notebook back over notebooks/<name>.ipynb (DIR/ with --dir):
 *   these are the committed notebooks, with their outputs, shown on the code host. At full scale the
 *   notebooks read the committed results/ (kernel/results.ts loadOrRun) rather than recompute them.
 * - `--scale smoke` (the default, what CI runs) writes to notebooks/executed/ (DIR/executed/), which
 *   git ignores, so CI never changes a committed file.
 * Either way the saved notebook is normalised (kernel/notebook-file.ts: no execution times, merged
 * streams, sorted keys), so executing again on unchanged results changes no byte, and it is written
 * atomically, only when its execution succeeded.
 *
 * Notebooks read ROBUSTLAB_SCALE. Prints seconds and size per notebook; stops at the first failure
 * with the failing cell and its error, exit status 1. Needs `npm run build` first (the kernel
 * installer is imported from dist/) and a Jupyter with nbconvert: .venv/ (bash
 * scripts/setup-jupyter.sh), else a python3 that imports nbconvert, else Debian's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function parseArgs(argv) {
  let scale = 'smoke';
  let dir = join(root, 'notebooks');
  const names = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--scale') scale = argv[++i];
    else if (a.startsWith('--scale=')) scale = a.slice('--scale='.length);
    else if (a === '--dir') dir = resolve(argv[++i] ?? '');
    else if (a.startsWith('--dir=')) dir = resolve(a.slice('--dir='.length));
    else if (a.startsWith('--')) fail(`unknown option ${a}; usage: node scripts/notebooks.mjs [--scale smoke|full] [--dir DIR] [name ...]`);
    else names.push(a);
  }
  if (scale !== 'smoke' && scale !== 'full') fail(`--scale must be smoke or full, got '${scale}'`);
  return { scale, dir, names };
}

function fail(message) {
  console.error(`notebooks: ${message}`);
  process.exit(1);
}

/** The command that runs nbconvert: .venv's jupyter, a python3 with nbconvert, or Debian's jupyter-nbconvert. */
function findNbconvert() {
  const venv = join(root, '.venv', 'bin', 'jupyter');
  if (existsSync(venv)) return [venv, 'nbconvert'];
  for (const python of ['python3', '/usr/bin/python3']) {
    if (spawnSync(python, ['-c', 'import nbconvert, nbclient'], { stdio: 'ignore' }).status === 0) return [python, '-m', 'nbconvert'];
  }
  if (spawnSync('jupyter-nbconvert', ['--version'], { stdio: 'ignore' }).status === 0) return ['jupyter-nbconvert'];
  return null;
}

/** nbconvert's report of a failed cell (its source and the kernel's error), without Python's traceback. */
function cellError(stderr) {
  const at = stderr.indexOf('An error occurred while executing the following cell');
  return (at >= 0 ? stderr.slice(at) : stderr.split('\n').slice(-40).join('\n')).trim();
}

function execute(cmd, notebook, outDir, env) {
  const args = [
    ...cmd.slice(1),
    '--to', 'notebook', '--execute',
    '--ExecutePreprocessor.kernel_name=robustlab',
    '--ExecutePreprocessor.timeout=1800',
    '--ExecutePreprocessor.record_timing=False',
    '--output-dir', outDir,
    notebook,
  ];
  return new Promise((resolve) => {
    const child = spawn(cmd[0], args, { cwd: root, env, stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
    child.on('error', (e) => resolve({ code: -1, stderr: String(e) }));
  });
}

async function main() {
  const { scale, dir, names } = parseArgs(process.argv.slice(2));
  const cmd = findNbconvert();
  if (cmd === null) fail('no Jupyter with nbconvert found; run: bash scripts/setup-jupyter.sh');
  const installer = join(root, 'dist', 'kernel', 'install.js');
  if (!existsSync(installer)) fail('dist/ is missing; run npm run build (npm run notebooks does it)');
  const { installKernel } = await import(pathToFileURL(installer).href);
  const { normaliseNotebook } = await import(pathToFileURL(join(root, 'dist', 'kernel', 'notebook-file.js')).href);
  const { writeFileAtomic } = await import(pathToFileURL(join(root, 'dist', 'engine', 'store', 'atomic-file.js')).href);
  const kernel = await installKernel({ projectRoot: root });

  if (!existsSync(dir)) fail(`no folder ${dir}`);
  // nbconvert writes into a scratch folder; the normalised notebook then replaces its target in one rename.
  const scratch = mkdtempSync(join(tmpdir(), 'robustlab-notebooks-'));
  process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
  const outDir = scale === 'full' ? dir : join(dir, 'executed');
  const all = readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort();
  const chosen = names.length === 0 ? all : all.filter((f) => names.some((n) => f === n || f === `${n}.ipynb` || f.startsWith(n)));
  if (chosen.length === 0) fail(`no notebook matches ${names.join(' ')} in ${dir} (have: ${all.join(', ') || 'none'})`);

  const env = { ...process.env, ROBUSTLAB_SCALE: scale, JUPYTER_PATH: kernel.jupyterPath };
  console.log(`notebooks: ${chosen.length} at scale ${scale} with kernel 'robustlab' (${basename(cmd[0])})`);
  const t0 = performance.now();
  for (const file of chosen) {
    const t = performance.now();
    const { code, stderr } = await execute(cmd, join(dir, file), scratch, env);
    const seconds = ((performance.now() - t) / 1000).toFixed(1);
    if (code !== 0) {
      console.error(`FAIL ${file} after ${seconds} s\n${cellError(stderr)}`);
      process.exit(1);
    }
    const text = normaliseNotebook(readFileSync(join(scratch, file), 'utf8'), { numberCells: true });
    writeFileAtomic(join(outDir, file), text);
    const kb = (Buffer.byteLength(text) / 1024).toFixed(0);
    console.log(`ok   ${file}  ${seconds} s  -> ${relative(root, join(outDir, file)) || join(outDir, file)} (${kb} KiB)`);
  }
  console.log(`notebooks: all ${chosen.length} passed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

await main();
