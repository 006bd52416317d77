/**
 * Real Jupyter, real tslab: notebooks executed headless through scripts/notebooks.mjs with the
 * project's kernel. Needs the .venv from `bash scripts/setup-jupyter.sh` and dist/ from `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../engine/project-root.js';

const root = projectRoot();
const dir = mkdtempSync(join(tmpdir(), 'robustlab-notebooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function notebook(cells: string[]): string {
  return JSON.stringify({
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source })),
    metadata: { kernelspec: { name: 'robustlab', display_name: 'robustlab (TypeScript)', language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  });
}

interface Output {
  output_type: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
}

function outputsOf(path: string): Output[] {
  const nb = JSON.parse(readFileSync(path, 'utf8')) as { cells: { outputs?: Output[] }[] };
  return nb.cells.flatMap((c) => c.outputs ?? []);
}

const join_ = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : (t ?? ''));

describe('npm run notebooks (scripts/notebooks.mjs)', () => {
  it('runs notebooks in order with the robustlab kernel (00-hello first), then stops at a failing cell and names its error', () => {
    expect(existsSync(join(root, '.venv', 'bin', 'jupyter')), 'no Jupyter in .venv: run `bash scripts/setup-jupyter.sh`').toBe(true);
    expect(existsSync(join(root, 'dist', 'kernel', 'index.js')), 'dist/ is missing: run `npm run build`').toBe(true);
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(root, 'notebooks', '00-hello.ipynb'), join(dir, '00-hello.ipynb'));
    // Cells import the project from dist/ relative to the project root (the kernel starts there).
    writeFileSync(
      join(dir, 'a-good.ipynb'),
      notebook([
        "const SCALE = process.env.ROBUSTLAB_SCALE ?? 'smoke';\n" +
          "import { version } from './dist/index.js';\n" +
          "import { inNotebook, showMarkdown } from './dist/kernel/index.js';\n" +
          'console.log(`robustlab ${version} scale=${SCALE} notebook=${inNotebook()} sum=${[1, 2, 3].reduce((a, b) => a + b, 0)}`);\n' +
          'showMarkdown(`**rendered ${version}**`);',
      ]),
    );
    writeFileSync(join(dir, 'b-bad.ipynb'), notebook(["const n: number = 'not a number';", "console.log('never reached');"]));

    const run = spawnSync(process.execPath, [join(root, 'scripts', 'notebooks.mjs'), '--dir', dir], { cwd: root, encoding: 'utf8', env: { ...process.env, ROBUSTLAB_SCALE: '' } });
    expect(run.stdout).toMatch(/ok {3}00-hello\.ipynb {2}\d+\.\d s/);
    expect(run.stdout).toMatch(/ok {3}a-good\.ipynb {2}\d+\.\d s/);
    expect(run.stderr).toContain('FAIL b-bad.ipynb');
    expect(run.stderr).toContain("Type 'string' is not assignable to type 'number'");
    expect(run.status).toBe(1);

    // 00-hello: the public API from dist/ and the backend the engine picked.
    const hello = outputsOf(join(dir, 'executed', '00-hello.ipynb')).map((o) => join_(o.text)).join('');
    expect(hello).toContain(`scale smoke\nrobustlab ${version}\n`);
    expect(hello).toMatch(/backend (tensorflow|wasm|cpu) \(@tensorflow\/.*, (cpu|gpu)\): auto: /);

    const outputs = outputsOf(join(dir, 'executed', 'a-good.ipynb'));
    const stdout = outputs.filter((o) => o.output_type === 'stream').map((o) => join_(o.text)).join('');
    // The runner sets ROBUSTLAB_SCALE=smoke; inNotebook() detects the live tslab kernel.
    expect(stdout).toContain(`robustlab ${version} scale=smoke notebook=true sum=6`);
    const markdown = outputs.filter((o) => o.output_type === 'display_data').map((o) => join_(o.data?.['text/markdown']));
    expect(markdown).toContain(`**rendered ${version}**`);
  });
});
