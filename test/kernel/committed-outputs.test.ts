/**
 * What a reader sees without running anything is what the committed results say:
 * - the README's results section, results/README.md and results/index.html are exactly what
 *   `npm run results:readme` generates from results/<name>/result.json and verdict.json;
 * - every committed notebook carries its outputs (at least one figure and one table), saved in the
 *   normalised form that `npm run notebooks -- --scale full` writes, with no random ids.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../engine/project-root.js';
import { figureUid } from '../../kernel/figure.js';
import { normaliseNotebook } from '../../kernel/notebook-file.js';
import { staleResultsViews } from '../../kernel/results-views.js';

const root = projectRoot();

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
}
interface Notebook {
  cells: { cell_type: string; execution_count?: number | null; outputs?: Output[] }[];
}

const notebooks = readdirSync(join(root, 'notebooks'))
  .filter((f) => f.endsWith('.ipynb'))
  .sort();
const text = (f: string) => readFileSync(join(root, 'notebooks', f), 'utf8');
const outputs = (f: string) => (JSON.parse(text(f)) as Notebook).cells.flatMap((c) => c.outputs ?? []);
const joined = (v: unknown) => (Array.isArray(v) ? v.join('') : String(v));

describe('the README and results/ views', () => {
  it('match the committed results (else: npm run results:readme)', () => {
    const stale = staleResultsViews(join(root, 'results'), join(root, 'README.md')).map((v) => relative(root, v.path));
    expect(stale, `stale against results/*/result.json: run npm run results:readme`).toEqual([]);
  });
});

describe('committed notebooks', () => {
  it('are all found', () => {
    expect(notebooks).toEqual(expect.arrayContaining(['00-hello.ipynb', '01-task-robust-cv.ipynb', '02-task-robust-nlp.ipynb', '03-certified-robustness.ipynb', '04-convex-convergence.ipynb', '05-sample-complexity.ipynb']));
  });

  it.each(notebooks)('%s shows at least one figure and one table, from a complete run', (f) => {
    const nb = JSON.parse(text(f)) as Notebook;
    const outs = outputs(f);
    const figures = outs.filter((o) => o.data?.['image/svg+xml'] !== undefined || o.data?.['image/png'] !== undefined);
    const tables = outs.filter((o) => joined(o.data?.['text/html'] ?? '').includes('<table'));
    expect(figures.length, 'figures').toBeGreaterThanOrEqual(1);
    expect(tables.length, 'tables').toBeGreaterThanOrEqual(1);
    expect(outs.filter((o) => o.output_type === 'error')).toEqual([]);
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    expect(code.map((c) => c.execution_count)).toEqual(code.map((_, i) => i + 1));
  });

  it.each(notebooks)('%s is saved normalised (no execution times, merged streams, sorted keys)', (f) => {
    expect(text(f)).toBe(normaliseNotebook(text(f)));
    expect(text(f)).not.toContain('"execution": {');
  });

  it.each(notebooks)('%s has no random ids: each rendered figure is named after itself, or is the committed SVG', (f) => {
    const committedSvgs = new Set(
      readdirSync(join(root, 'results'), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .flatMap((e) => readdirSync(join(root, 'results', e.name)).filter((x) => x.endsWith('.svg')).map((x) => readFileSync(join(root, 'results', e.name, x), 'utf8'))),
    );
    for (const o of outputs(f)) {
      const svg = o.data?.['image/svg+xml'];
      if (svg === undefined) continue;
      const s = joined(svg);
      if (committedSvgs.has(s)) continue;
      const name = /^\[figure ([^\]]+)\]/.exec(joined(o.data?.['text/plain'] ?? ''))?.[1];
      expect(name, 'a figure output names its figure in text/plain').toBeDefined();
      expect(/<defs id="defs-([0-9a-z]+)"/.exec(s)?.[1]).toBe(figureUid(name!));
    }
    // Interactive HTML (the no-chromium fallback) names its div after the figure too.
    for (const o of outputs(f)) {
      for (const m of joined(o.data?.['text/html'] ?? '').matchAll(/<div id="robustlab-(.+)-([0-9a-f]{6})">/g)) expect(m[2]).toBe(figureUid(m[1]!));
    }
  });
});
