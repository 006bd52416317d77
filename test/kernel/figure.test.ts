/** Real headless chromium (Debian's, installed by `bash scripts/setup-jupyter.sh`) rendering real plotly. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as aq from 'arquero';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExperimentResult, FigureSpec } from '../../experiments/experiment-result.js';
import { chromiumPath, closeFigureRenderer, figureHtml, figureUid, renderFigure } from '../../kernel/figure.js';
import { writeReport, writeResultsIndex } from '../../kernel/report.js';

const spec: FigureSpec = {
  name: 'certified-accuracy',
  data: [
    { x: [0, 0.25, 0.5, 0.75], y: [0.81, 0.66, 0.42, 0.2], type: 'scatter', mode: 'lines+markers', name: 'sigma 0.25' },
    { x: [0, 0.25, 0.5, 0.75], y: [0.7, 0.61, 0.5, 0.37], type: 'scatter', mode: 'lines+markers', name: 'sigma 0.5' },
  ],
  layout: {
    title: { text: 'Certified accuracy vs radius' },
    xaxis: { title: { text: 'L2 radius (pixels, [0,1] scale)' } },
    yaxis: { title: { text: 'certified accuracy (fraction)' } },
  },
};

const dir = mkdtempSync(join(tmpdir(), 'robustlab-report-'));
afterAll(async () => {
  await closeFigureRenderer();
  rmSync(dir, { recursive: true, force: true });
});

function requireChromium(): void {
  expect(chromiumPath(), 'no headless chromium: run `bash scripts/setup-jupyter.sh` as root (installs Debian chromium)').not.toBeNull();
}

describe('renderFigure', () => {
  it('renders an SVG whose text holds both axis titles and the trace names', async () => {
    requireChromium();
    const svg = await renderFigure(spec, { format: 'svg' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.length).toBeGreaterThan(2000);
    for (const text of ['L2 radius (pixels, [0,1] scale)', 'certified accuracy (fraction)', 'Certified accuracy vs radius', 'sigma 0.25']) {
      expect(svg).toContain(text);
    }
  });

  it('renders the same figure to the same bytes: plotly\'s random ids are replaced by ones named after the figure', async () => {
    requireChromium();
    const [a, b, other] = [await renderFigure(spec, { format: 'svg' }), await renderFigure(spec, { format: 'svg' }), await renderFigure({ ...spec, name: 'other' }, { format: 'svg' })];
    expect(a).toBe(b);
    const ids = (svg: string) => [...new Set([...svg.matchAll(/(?:clip|defs-|topdefs-|legend)([0-9a-f]{6})/g)].map((m) => m[1]))];
    expect(ids(a)).toEqual([figureUid('certified-accuracy')]);
    expect(ids(other)).toEqual([figureUid('other')]);
    expect(figureUid('other')).not.toBe(figureUid('certified-accuracy'));
  });

  it('renders a PNG of the layout size, reusing the open browser', async () => {
    requireChromium();
    const t = performance.now();
    const png = await renderFigure({ ...spec, layout: { ...spec.layout, width: 640, height: 400 } }, { format: 'png' });
    const warmMs = performance.now() - t;
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // IHDR: width and height as big-endian uint32 at bytes 16 and 20.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([640, 400]);
    expect(warmMs).toBeLessThan(10_000);
  });
});

describe('figureHtml (fallback without chromium)', () => {
  it('is a self-contained page: plotly inlined, the figure data present, nothing fetched', async () => {
    const html = await figureHtml(spec);
    expect(html.length).toBeGreaterThan(1_000_000);
    expect(html).toContain('Plotly.newPlot("plot"');
    expect(html).toContain('L2 radius (pixels, [0,1] scale)');
    expect(html).not.toMatch(/<script[^>]+src=/);
  });
});

describe('writeReport', () => {
  const result: ExperimentResult = {
    name: 'noise-mixture-smoke',
    title: 'Certified robustness | noise mixtures (smoke)',
    scale: 'smoke',
    tables: {
      certified: aq.table({ sigma: [0.25, 0.25, 0.5], radius: [0, 0.5, 0], certifiedAccuracy: [0.81, 0.42, 0.7] }),
    },
    figures: [spec],
    summary: 'Measured at smoke scale; the claim is **not** tested at this size.',
    seconds: 12.34,
    backend: 'wasm',
  };

  it('writes CSV, summary.md with the table and figure link, the SVG, and an index', async () => {
    requireChromium();
    const report = await writeReport(result, dir);
    const out = join(dir, 'noise-mixture-smoke');
    expect(report.dir).toBe(out);
    expect(report.figureFormat).toBe('svg');
    expect(readdirSync(out).sort()).toEqual(['certified-accuracy.plotly.json', 'certified-accuracy.svg', 'certified.csv', 'result.json', 'summary.md']);
    expect(JSON.parse(readFileSync(join(out, 'certified-accuracy.plotly.json'), 'utf8'))).toEqual(spec);

    expect(readFileSync(join(out, 'certified.csv'), 'utf8')).toBe('sigma,radius,certifiedAccuracy\n0.25,0,0.81\n0.25,0.5,0.42\n0.5,0,0.7\n');
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toContain('# Certified robustness | noise mixtures (smoke)');
    expect(md).toContain('Scale `smoke` · backend `wasm` · 12.3 s');
    expect(md).toContain('|0.25|0.5|0.42|');
    expect(md).toContain('[certified.csv](certified.csv)');
    expect(md).toContain('![Certified accuracy vs radius](certified-accuracy.svg)');
    expect(readFileSync(join(out, 'certified-accuracy.svg'), 'utf8')).toContain('certified accuracy (fraction)');

    const index = readFileSync(writeResultsIndex(dir), 'utf8');
    expect(index).toMatch(/^\| \[Certified robustness \\\| noise mixtures \(smoke\)\]\(noise-mixture-smoke\/summary\.md\) \| smoke \| \d{4}-\d\d-\d\d \d\d:\d\d UTC \| .* \| wasm \| .* \| 12\.3 s \| — \|$/m);
    expect(index).toContain('- figures: [certified-accuracy.svg](noise-mixture-smoke/certified-accuracy.svg)');
  });

  it('rejects a name that is not file-safe before writing anything', async () => {
    await expect(writeReport({ ...result, name: '../escape' }, dir)).rejects.toThrow("experiment name '../escape' is not file-safe");
  });
});
