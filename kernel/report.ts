/**
 * Writes an ExperimentResult to disk for people who never open a notebook:
 *   <dir>/<name>/<table>.csv          every table, complete
 *   <dir>/<name>/<figure>.svg         every figure (or <figure>.html, interactive, when there is no chromium)
 *   <dir>/<name>/<figure>.plotly.json every figure's plotly spec (data + layout), for interactive views
 *   <dir>/<name>/summary.md           title, provenance, the summary, tables as markdown, figure links
 *   <dir>/<name>/result.json          the same facts as data, with the provenance (date, machine, backend, commit, scale)
 *   <dir>/<name>/verdict.json         the claim's gates, paired comparisons and verdict, when the experiment tests one
 *   <dir>/<name>/<attachment path>    further evidence the experiment attaches (e.g. per-point TSVs), listed in result.json
 * The folder is replaced as a whole (kernel/atomic-folder.ts): a run that dies while writing leaves
 * the previous folder complete, and files of an older result never linger beside a newer one.
 */
import { join } from 'node:path';
import { projectRoot } from '../engine/project-root.js';
import { writeFileAtomic } from '../engine/store/atomic-file.js';
import type { ExperimentResult } from '../experiments/experiment-result.js';
import { replaceFolder } from './atomic-folder.js';
import { figureTitle } from './display.js';
import { chromiumPath, closeFigureRenderer, figureHtml, isFigureRendererOpen, renderFigure } from './figure.js';
import { collectProvenance, describeMachine, type Provenance } from './provenance.js';
import { describeProvenance, folderScale, formatDate, listResultFolders, type ResultMeta } from './results.js';

/** Rows of a table repeated in summary.md; the CSV always has all of them. */
const SUMMARY_ROWS = 50;

export interface ReportFiles {
  readonly dir: string;
  /** Paths written, in order (their final place, after the folder was swapped in). */
  readonly files: readonly string[];
  /** 'svg' when chromium rendered the figures, 'html' for the interactive fallback. */
  readonly figureFormat: 'svg' | 'html';
}

export interface ReportOptions {
  /** Where the folder came from; by default collected now, with the result's scale. */
  readonly provenance?: Provenance;
}

const FILE_SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkName(what: string, name: string): void {
  if (!FILE_SAFE.test(name)) throw new Error(`${what} name '${name}' is not file-safe (letters, digits, . _ -)`);
}

export async function writeReport(result: ExperimentResult, dir: string, options: ReportOptions = {}): Promise<ReportFiles> {
  checkName('experiment', result.name);
  for (const t of Object.keys(result.tables)) checkName('table', t);
  for (const f of result.figures) checkName('figure', f.name);
  for (const a of result.attachments ?? []) {
    if (!a.path.split('/').every((part) => FILE_SAFE.test(part))) throw new Error(`attachment path '${a.path}' is not file-safe (letters, digits, . _ - and /)`);
  }
  const provenance = options.provenance ?? collectProvenance({ root: projectRoot(), backend: result.backend, scale: result.scale });
  const out = join(dir, result.name);
  const names: string[] = [];
  let figureFormat: 'svg' | 'html' = 'svg';

  await replaceFolder(out, async (tmp) => {
    const write = (file: string, data: string | Uint8Array) => {
      writeFileAtomic(join(tmp, file), data);
      names.push(file);
    };
    for (const [name, table] of Object.entries(result.tables)) write(`${name}.csv`, table.toCSV());

    figureFormat = chromiumPath() !== null ? 'svg' : 'html';
    const figureFiles: string[] = [];
    const specFiles: string[] = [];
    const openedHere = !isFigureRendererOpen();
    try {
      for (const spec of result.figures) {
        const file = `${spec.name}.${figureFormat}`;
        write(file, figureFormat === 'svg' ? await renderFigure(spec, { format: 'svg' }) : await figureHtml(spec));
        figureFiles.push(file);
        write(`${spec.name}.plotly.json`, `${JSON.stringify({ name: spec.name, data: spec.data, layout: spec.layout })}\n`);
        specFiles.push(`${spec.name}.plotly.json`);
      }
    } finally {
      if (openedHere) await closeFigureRenderer();
    }

    const m = provenance.machine;
    const commit = provenance.commit === null ? 'no git commit' : `commit \`${provenance.commit.slice(0, 7)}\`${provenance.dirty ? ' (with uncommitted changes)' : ''}`;
    const md: string[] = [
      `# ${result.title}`,
      '',
      `Scale \`${provenance.scale}\` · backend \`${result.backend}\` · ${result.seconds.toFixed(1)} s · ${formatDate(provenance.date)} · ${describeMachine(m)} · ${commit}`,
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

    for (const a of result.attachments ?? []) write(a.path, a.content);
    if (result.verdict) write('verdict.json', `${JSON.stringify(result.verdict, null, 2)}\n`);
    const meta: ResultMeta = {
      name: result.name,
      title: result.title,
      scale: result.scale,
      backend: result.backend,
      seconds: result.seconds,
      tables: tableNames.map((t) => `${t}.csv`),
      figures: figureFiles,
      figureSpecs: specFiles,
      summary: result.summary.trim(),
      verdict: result.verdict?.verdict ?? null,
      ...(result.attachments?.length ? { attachments: result.attachments.map((a) => a.path) } : {}),
      provenance,
    };
    // Last: a folder with result.json is complete (readers list folders by it).
    write('result.json', `${JSON.stringify(meta, null, 2)}\n`);
  });
  return { dir: out, files: names.map((f) => join(out, f)), figureFormat };
}

/** results/README.md: one row per results folder with its scale, date, machine, backend, commit, time and verdict, then its files. */
export function resultsIndexMarkdown(resultsDir: string): string {
  const folders = listResultFolders(resultsDir);
  const cell = (s: string) => s.replaceAll('|', '\\|');
  const lines = [
    '# Results',
    '',
    'Written by `robustlab reproduce <experiment> --scale full` (`npm run reproduce` runs them all); every number and figure',
    'here is computed, none typed in. Smoke and custom runs (`--scale smoke`, `--only`, `--seeds`) write to `results/smoke/`',
    'and `results/custom/`, which git ignores. Each folder is replaced as a whole when its run finishes.',
    'Browse everything on one page: [index.html](index.html), or `npx robustlab results`.',
    '',
  ];
  if (folders.length === 0) {
    lines.push('No experiment results yet.', '');
    return lines.join('\n');
  }
  lines.push(
    '| experiment | scale | date | machine | backend | commit | time | verdict |',
    '|---|---|---|---|---|---|--:|---|',
    ...folders.map((r) => {
      const p = r.provenance;
      const machine = p ? `${describeMachine(p.machine)}, ${p.machine.memoryGiB} GiB, ${p.machine.os}` : 'not recorded';
      const commit = p === null ? 'not recorded' : p.commit === null ? 'none' : `\`${p.commit.slice(0, 7)}\`${p.dirty ? ' + changes' : ''}`;
      const date = r.date === null ? 'not recorded' : formatDate(r.date);
      return `| [${cell(r.meta.title)}](${r.folder}/summary.md) | ${folderScale(r)} | ${date} | ${cell(machine)} | ${cell(r.meta.backend)} | ${commit} | ${r.meta.seconds.toFixed(1)} s | ${cell(r.verdict?.verdict ?? '—')} |`;
    }),
    '',
  );
  for (const r of folders) {
    const links = (files: readonly string[]) => files.map((f) => `[${f}](${r.folder}/${f})`).join(' ') || '—';
    lines.push(`## ${r.folder}`, '', describeProvenance(r) + '.', '');
    lines.push(`- summary: [summary.md](${r.folder}/summary.md)${r.verdict ? ` · verdict: [verdict.json](${r.folder}/verdict.json)` : ''}`);
    lines.push(`- tables: ${links(r.meta.tables)}`, `- figures: ${links(r.meta.figures)}`, '');
  }
  return lines.join('\n');
}

/** Writes <resultsDir>/README.md (resultsIndexMarkdown) and returns its path. */
export function writeResultsIndex(resultsDir: string): string {
  const path = join(resultsDir, 'README.md');
  writeFileAtomic(path, resultsIndexMarkdown(resultsDir));
  return path;
}
