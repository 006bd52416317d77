/**
 * Real Jupyter, real tslab: notebooks executed headless through scripts/notebooks.mjs with the
 * project's kernel. Needs the .venv from `bash scripts/setup-jupyter.sh` and dist/ from `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../engine/project-root.js';
import { closeFigureRenderer, figureUid, renderFigure } from '../../kernel/figure.js';
import { listResultFolders } from '../../kernel/results.js';

const root = projectRoot();
const dir = mkdtempSync(join(tmpdir(), 'robustlab-notebooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A notebook for the robustlab kernel with one code cell per source. */
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

/** Tests that execute notebooks: measured 150–300 s when the machine's 2 cores are shared with running experiments. */
const EXECUTES_NOTEBOOKS = 900_000;

const join_ = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : (t ?? ''));

describe('npm run notebooks (scripts/notebooks.mjs)', () => {
  it('runs notebooks in order with the robustlab kernel (00-hello first), then stops at a failing cell and names its error', () => {
    expect(existsSync(join(root, '.venv', 'bin', 'jupyter')), 'no Jupyter in .venv: run `bash scripts/setup-jupyter.sh`').toBe(true);
    expect(existsSync(join(root, 'dist', 'kernel', 'index.js')), 'dist/ is missing: run `npm run build`').toBe(true);
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(root, 'notebooks', '00-hello.ipynb'), join(dir, '00-hello.ipynb'));
    writeFileSync(join(dir, 'b-bad.ipynb'), notebook(["const n: number = 'not a number';", "console.log('never reached');"]));

    const run = spawnSync(process.execPath, [join(root, 'scripts', 'notebooks.mjs'), '--dir', dir], { cwd: root, encoding: 'utf8', env: { ...process.env, ROBUSTLAB_SCALE: '' } });
    expect(run.stdout).toMatch(/ok {3}00-hello\.ipynb {2}\d+\.\d s/);
    expect(run.stderr).toContain('FAIL b-bad.ipynb');
    expect(run.stderr).toContain("Type 'string' is not assignable to type 'number'");
    expect(run.status).toBe(1);

    // 00-hello imports the public API from ./dist/ (relative to the project root, where the kernel
    // starts); the runner sets ROBUSTLAB_SCALE=smoke; the engine reports the backend it picked.
    const outputs = outputsOf(join(dir, 'executed', '00-hello.ipynb'));
    const stdout = outputs.filter((o) => o.output_type === 'stream').map((o) => join_(o.text)).join('');
    expect(stdout).toContain(`scale smoke\nrobustlab ${version}\n`);
    const backend = stdout.match(/backend (tensorflow|wasm|cpu) \(@tensorflow\/.*, (cpu|gpu)\): \S/);
    expect(backend, stdout).not.toBeNull();
    // showMarkdown detected the live kernel and emitted rich output rather than console text.
    const display = outputs.filter((o) => o.output_type === 'display_data');
    const markdown = display.filter((o) => o.data?.['text/markdown'] !== undefined).map((o) => join_(o.data?.['text/markdown']));
    expect(markdown).toEqual([`**robustlab ${version}** on \`${backend![1]}\` (tfjs 4.22.0)`]);
    // showTable: the committed results as an HTML table, one row per folder.
    const tables = display.map((o) => join_(o.data?.['text/html'])).filter((h) => h.includes('<table'));
    expect(tables).toHaveLength(1);
    const folders = listResultFolders();
    expect(tables[0]!.match(/<tr>/g)?.length).toBe(folders.length + 1);
    for (const f of folders) expect(tables[0]).toContain(`<tr><td style="text-align: left;">${f.folder}</td>`);
    // showFigure: one output with the static SVG (ids named after the figure) and the plotly JSON.
    const figures = display.filter((o) => o.data?.['image/svg+xml'] !== undefined);
    expect(figures).toHaveLength(1);
    const figure = figures[0]!.data!;
    expect(Object.keys(figure).sort()).toEqual(['application/vnd.plotly.v1+json', 'image/svg+xml', 'text/plain']);
    expect(join_(figure['image/svg+xml'])).toContain(`id="defs-${figureUid('hello-task-weights')}"`);
    expect((figure['application/vnd.plotly.v1+json'] as unknown as { data: unknown[] }).data).toHaveLength(3);
    expect(join_(figure['text/plain'])).toBe('[figure hello-task-weights] Task weights p = softmax(eta * loss)');
  }, EXECUTES_NOTEBOOKS);

  it('in the committed notebooks, the interactive copy of every figure draws exactly its static SVG', async () => {
    let checked = 0;
    try {
      for (const f of readdirSync(join(root, 'notebooks')).filter((x) => x.endsWith('.ipynb'))) {
        for (const o of outputsOf(join(root, 'notebooks', f))) {
          const plotly = o.data?.['application/vnd.plotly.v1+json'] as unknown as { data: Record<string, unknown>[]; layout: Record<string, unknown> } | undefined;
          if (plotly === undefined) continue;
          const name = /^\[figure ([^\]]+)\]/.exec(join_(o.data?.['text/plain']))![1]!;
          expect(await renderFigure({ name, data: plotly.data, layout: plotly.layout }, { format: 'svg' }), `${f}: ${name}`).toBe(join_(o.data?.['image/svg+xml']));
          checked++;
        }
      }
    } finally {
      await closeFigureRenderer();
    }
    expect(checked).toBeGreaterThanOrEqual(4);
  });

  it('re-executing the committed notebooks at full scale on the committed results reproduces them byte for byte', () => {
    const committed = readdirSync(join(root, 'notebooks')).filter((f) => f.endsWith('.ipynb') && outputsOf(join(root, 'notebooks', f)).length > 0);
    expect(committed).toEqual(expect.arrayContaining(['00-hello.ipynb', '04-convex-convergence.ipynb']));
    const again = mkdtempSync(join(tmpdir(), 'robustlab-notebooks-full-'));
    try {
      for (const f of committed) copyFileSync(join(root, 'notebooks', f), join(again, f));
      const run = spawnSync(process.execPath, [join(root, 'scripts', 'notebooks.mjs'), '--scale', 'full', '--dir', again], { cwd: root, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      for (const f of committed) {
        expect(readFileSync(join(again, f), 'utf8'), `${f} changed: run npm run notebooks -- --scale full`).toBe(readFileSync(join(root, 'notebooks', f), 'utf8'));
      }
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  }, EXECUTES_NOTEBOOKS);
});
