/**
 * Writes an ExperimentResult to disk for people who never open a notebook:
 *   <dir>/<name>/<table>.csv    every table, complete
 *   <dir>/<name>/<figure>.svg   every figure (or <figure>.html, interactive, when there is no chromium)
 *   <dir>/<name>/summary.md     title, scale, backend, time, the summary, tables as markdown, figure links
 *   <dir>/<name>/result.json    the same facts as data (read by writeResultsIndex)
 *   <dir>/<name>/verdict.json   the claim's gates, paired comparisons and verdict, when the experiment tests one
 * Every file is written atomically (temporary sibling + rename), so a reader never sees half a file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../engine/store/atomic-file.js';
import type { ExperimentResult } from '../experiments/experiment-result.js';
import { figureTitle } from './display.js';
import { chromiumPath, closeFigureRenderer, figureHtml, isFigureRendererOpen, renderFigure } from './figure.js';

/** Rows of a table repeated in summary.md; the CSV always has all of them. */
const SUMMARY_ROWS = 50;

export interface ReportFiles {
  readonly dir: string;
  /** Paths written, in order. */
  readonly files: readonly string[];
  /** 'svg' when chromium rendered the figures, 'html' for the interactive fallback. */
  readonly figureFormat: 'svg' | 'html';
}

interface ResultMeta {
  readonly name: string;
  readonly title: string;
  readonly scale: string;
  readonly backend: string;
  readonly seconds: number;
  readonly tables: readonly string[];
  readonly figures: readonly string[];
  readonly writtenAt: string;
}

const FILE_SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkName(what: string, name: string): void {
  if (!FILE_SAFE.test(name)) throw new Error(`${what} name '${name}' is not file-safe (letters, digits, . _ -)`);
}

export async function writeReport(result: ExperimentResult, dir: string): Promise<ReportFiles> {
  checkName('experiment', result.name);
  for (const t of Object.keys(result.tables)) checkName('table', t);
  for (const f of result.figures) checkName('figure', f.name);
  const out = join(dir, result.name);
  const files: string[] = [];
  const write = (file: string, data: string | Uint8Array) => {
    const path = join(out, file);
    writeFileAtomic(path, data);
    files.push(path);
  };

  for (const [name, table] of Object.entries(result.tables)) write(`${name}.csv`, table.toCSV());

  const figureFormat = chromiumPath() !== null ? 'svg' : 'html';
  const figureFiles: string[] = [];
  const openedHere = !isFigureRendererOpen();
  try {
    for (const spec of result.figures) {
      const file = `${spec.name}.${figureFormat}`;
      write(file, figureFormat === 'svg' ? await renderFigure(spec, { format: 'svg' }) : await figureHtml(spec));
      figureFiles.push(file);
    }
  } finally {
    if (openedHere) await closeFigureRenderer();
  }

  const md: string[] = [
    `# ${result.title}`,
    '',
    `Scale \`${result.scale}\` · backend \`${result.backend}\` · ${result.seconds.toFixed(1)} s`,
    '',
    result.summary.trim(),
    '',
  ];
  const tableNames = Object.keys(result.tables);
  if (tableNames.length > 0) md.push('## Tables', '');
  for (const name of tableNames) {
    const table = result.tables[name]!;
    const more = table.numRows() - SUMMARY_ROWS;
    md.push(`### ${name}`, '', table.toMarkdown({ limit: SUMMARY_ROWS }).trim(), '');
    md.push(`${more > 0 ? `${more} more rows in ` : 'As CSV: '}[${name}.csv](${name}.csv)`, '');
  }
  if (result.figures.length > 0) md.push('## Figures', '');
  result.figures.forEach((spec, i) => {
    const file = figureFiles[i]!;
    md.push(figureFormat === 'svg' ? `![${figureTitle(spec)}](${file})` : `[${figureTitle(spec)} (interactive HTML)](${file})`, '');
  });
  write('summary.md', md.join('\n'));

  const meta: ResultMeta = {
    name: result.name,
    title: result.title,
    scale: result.scale,
    backend: result.backend,
    seconds: result.seconds,
    tables: tableNames.map((t) => `${t}.csv`),
    figures: figureFiles,
    writtenAt: new Date().toISOString(),
  };
  write('result.json', `${JSON.stringify(meta, null, 2)}\n`);
  for (const a of result.attachments ?? []) {
    if (!a.path.split('/').every((part) => FILE_SAFE.test(part))) throw new Error(`attachment path '${a.path}' is not file-safe (letters, digits, . _ - and /)`);
    write(a.path, a.content);
  }
  if (result.verdict) write('verdict.json', `${JSON.stringify(result.verdict, null, 2)}\n`);
  return { dir: out, files, figureFormat };
}

/**
 * Writes <resultsDir>/README.md: one row per experiment folder that holds a result.json,
 * with its title, scale, backend, time and links. Returns the README path.
 */
export function writeResultsIndex(resultsDir: string): string {
  const metas = (existsSync(resultsDir) ? readdirSync(resultsDir, { withFileTypes: true }) : [])
    .filter((e) => e.isDirectory() && existsSync(join(resultsDir, e.name, 'result.json')))
    .map((e) => JSON.parse(readFileSync(join(resultsDir, e.name, 'result.json'), 'utf8')) as ResultMeta)
    .sort((a, b) => a.name.localeCompare(b.name));
  const lines = [
    '# Results',
    '',
    'Written by `npm run reproduce`; every number and figure here is computed, none typed in.',
    '',
    '| experiment | scale | backend | time | summary | tables | figures |',
    '|---|---|---|--:|---|---|---|',
    ...metas.map((m) => {
      const links = (files: readonly string[]) => files.map((f) => `[${f}](${m.name}/${f})`).join(' ') || '—';
      return `| ${m.title.replaceAll('|', '\\|')} | ${m.scale} | ${m.backend} | ${m.seconds.toFixed(1)} s | [summary](${m.name}/summary.md) | ${links(m.tables)} | ${links(m.figures)} |`;
    }),
    '',
  ];
  if (metas.length === 0) lines.splice(4, 2, 'No experiment results yet.');
  const path = join(resultsDir, 'README.md');
  writeFileAtomic(path, lines.join('\n'));
  return path;
}
