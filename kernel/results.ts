/**
 * Reading results folders back: what writeReport wrote under results/<name>/ (result.json, the CSV
 * tables, the SVG figures with their plotly specs, verdict.json), for the README generator, the
 * results page and the notebooks.
 *
 * A notebook at full scale shows the committed full-scale results instead of recomputing them for
 * hours: `await loadOrRun('task-robust-cv', SCALE, () => taskRobustCv({...}))` loads
 * results/task-robust-cv/ when SCALE is 'full' and runs the experiment otherwise, and both give an
 * ExperimentResult, so the cells after it do not change.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { projectRoot } from '../engine/project-root.js';
import type { ExperimentResult, FigureSpec, Scale, Verdict } from '../experiments/experiment-result.js';
import { showMarkdown, type LoadedFigure } from './display.js';
import { recoverFolder } from './atomic-folder.js';
import { describeMachine, type Provenance } from './provenance.js';

/** result.json as writeReport writes it (older folders lack figureSpecs, summary, verdict and provenance). */
export interface ResultMeta {
  readonly name: string;
  readonly title: string;
  readonly scale: string;
  readonly backend: string;
  readonly seconds: number;
  /** CSV files, in the experiment's order. */
  readonly tables: readonly string[];
  /** SVG files (or interactive HTML where no chromium was present). */
  readonly figures: readonly string[];
  /** The plotly spec of each figure as JSON, index for index with `figures`. */
  readonly figureSpecs?: readonly string[];
  /** The experiment's summary (markdown). */
  readonly summary?: string;
  /** The verdict sentence, when verdict.json is present. */
  readonly verdict?: string | null;
  /** Further evidence files under the folder (relative paths), e.g. per-point certification rows. */
  readonly attachments?: readonly string[];
  readonly provenance?: Provenance;
  /** Older folders: the write time, before provenance was recorded. */
  readonly writtenAt?: string;
}

/** One results folder as read from disk. */
export interface ResultFolder {
  /** The folder's name under the results directory (= the experiment's file name). */
  readonly folder: string;
  readonly dir: string;
  readonly meta: ResultMeta;
  readonly verdict: Verdict | null;
  readonly provenance: Provenance | null;
  /** ISO write time: provenance.date, else writtenAt; null when neither is recorded. */
  readonly date: string | null;
}

export class ResultsError extends Error {
  readonly userError = true;
  constructor(message: string) {
    super(message);
    this.name = 'ResultsError';
  }
}

export function defaultResultsDir(): string {
  return join(projectRoot(), 'results');
}

function shown(dir: string): string {
  const rel = relative(projectRoot(), dir);
  return rel.startsWith('..') || rel === '' ? dir : rel;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new ResultsError(`${shown(path)} is not valid JSON (${(e as Error).message}); write it again with robustlab reproduce`);
  }
}

function checkMeta(path: string, m: unknown): ResultMeta {
  const o = m as Record<string, unknown>;
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const bad = [
    typeof o?.name !== 'string' && 'name',
    typeof o?.title !== 'string' && 'title',
    typeof o?.scale !== 'string' && 'scale',
    typeof o?.backend !== 'string' && 'backend',
    typeof o?.seconds !== 'number' && 'seconds',
    !strings(o?.tables) && 'tables',
    !strings(o?.figures) && 'figures',
  ].filter((x): x is string => x !== false);
  if (bad.length > 0) throw new ResultsError(`${shown(path)} lacks or mistypes ${bad.join(', ')}; write it again with robustlab reproduce`);
  for (const f of [...(o.tables as string[]), ...(o.figures as string[]), ...((o.figureSpecs as string[] | undefined) ?? [])]) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(f)) throw new ResultsError(`${shown(path)} names a file outside its folder: '${f}'`);
  }
  for (const a of (o.attachments as string[] | undefined) ?? []) {
    if (!a.split('/').every((part) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(part))) throw new ResultsError(`${shown(path)} names a file outside its folder: '${a}'`);
  }
  return o as unknown as ResultMeta;
}

/** Reads results/<folder>/; throws ResultsError when it holds no (valid) result.json. */
export function readResultFolder(dir: string): ResultFolder {
  if (!existsSync(dir)) recoverFolder(dir);
  const metaPath = join(dir, 'result.json');
  if (!existsSync(metaPath)) throw new ResultsError(`no result in ${shown(dir)}/ (result.json missing); robustlab reproduce <experiment> --scale full writes it`);
  const meta = checkMeta(metaPath, readJson(metaPath));
  const verdictPath = join(dir, 'verdict.json');
  const verdict = existsSync(verdictPath) ? (readJson(verdictPath) as Verdict) : null;
  const provenance = meta.provenance ?? null;
  return {
    folder: dir.split(/[\\/]/).filter(Boolean).pop()!,
    dir,
    meta,
    verdict,
    provenance,
    date: provenance?.date ?? meta.writtenAt ?? null,
  };
}

/** Every results folder under `resultsDir` that holds a result.json, by name (hidden and other folders skipped). */
export function listResultFolders(resultsDir: string = defaultResultsDir()): ResultFolder[] {
  if (!existsSync(resultsDir)) return [];
  return readdirSync(resultsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && existsSync(join(resultsDir, e.name, 'result.json')))
    .map((e) => e.name)
    .sort()
    .map((name) => readResultFolder(join(resultsDir, name)));
}

/** The scale a folder holds: its provenance's ('full' | 'smoke' | 'custom'), else result.json's. */
export function folderScale(r: ResultFolder): string {
  return r.provenance?.scale ?? r.meta.scale;
}

/** 'full scale, written 2026-11-23 18:40 UTC on AMD EPYC, 2 cores (avx2) with tensorflow, commit 938a4f5' */
export function describeProvenance(r: ResultFolder): string {
  const p = r.provenance;
  const date = r.date === null ? 'date not recorded' : `written ${formatDate(r.date)}`;
  if (p === null) return `${folderScale(r)} scale, ${date} with ${r.meta.backend} (machine and commit not recorded)`;
  const commit = p.commit === null ? 'outside a git checkout' : `commit ${p.commit.slice(0, 7)}${p.dirty ? ' with uncommitted changes' : ''}`;
  return `${folderScale(r)} scale, ${date} on ${describeMachine(p.machine)} with ${p.backend}, ${commit}`;
}

/** '2026-11-23 18:40 UTC' from an ISO time. */
export function formatDate(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

/**
 * The summary markdown: result.json's, or for older folders the part of summary.md between the
 * scale line and the tables.
 */
export function readSummary(r: ResultFolder): string {
  if (typeof r.meta.summary === 'string') return r.meta.summary;
  const path = join(r.dir, 'summary.md');
  if (!existsSync(path)) return '';
  const lines = readFileSync(path, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('Scale `'));
  const end = lines.findIndex((l, i) => i > start && (l === '## Tables' || l === '## Figures'));
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .join('\n')
    .trim();
}

export function readTable(r: ResultFolder, file: string): ColumnTable {
  return aq.fromCSV(readFileSync(join(r.dir, file), 'utf8'));
}

/** A results folder as an ExperimentResult: tables from the CSVs, figures as their SVGs with the plotly spec where recorded. */
export interface LoadedResult extends ExperimentResult {
  readonly figures: readonly LoadedFigure[];
  readonly folder: ResultFolder;
}

export function loadResultFolder(r: ResultFolder): LoadedResult {
  const tables: Record<string, ColumnTable> = {};
  for (const file of r.meta.tables) tables[file.replace(/\.csv$/, '')] = readTable(r, file);
  const figures = r.meta.figures.map((file, i): LoadedFigure => {
    const name = file.replace(/\.(svg|html)$/, '');
    const specFile = r.meta.figureSpecs?.[i];
    const spec: FigureSpec =
      specFile !== undefined && existsSync(join(r.dir, specFile))
        ? (readJson(join(r.dir, specFile)) as FigureSpec)
        : { name, data: [], layout: { title: { text: name } } };
    const svg = file.endsWith('.svg') ? readFileSync(join(r.dir, file), 'utf8') : undefined;
    return { ...spec, name, ...(svg !== undefined ? { svg } : {}) };
  });
  return {
    name: r.meta.name,
    title: r.meta.title,
    scale: (r.meta.scale === 'full' ? 'full' : 'smoke') satisfies Scale,
    tables,
    figures,
    summary: readSummary(r),
    ...(r.verdict ? { verdict: r.verdict } : {}),
    seconds: r.meta.seconds,
    backend: r.meta.backend,
    folder: r,
  };
}

/** results/<folder>/ loaded (see loadResultFolder). */
export function loadResult(folder: string, options: { resultsDir?: string } = {}): LoadedResult {
  return loadResultFolder(readResultFolder(join(options.resultsDir ?? defaultResultsDir(), folder)));
}

/**
 * At scale 'full': the committed full-scale results of results/<folder>/ (a note says where and when
 * they were measured); at any other scale: `run()`. Throws ResultsError when the folder holds no
 * full-scale result.
 */
export async function loadOrRun(
  folder: string,
  scale: Scale,
  run: () => ExperimentResult | Promise<ExperimentResult>,
  options: { resultsDir?: string } = {},
): Promise<ExperimentResult> {
  if (scale !== 'full') return run();
  const loaded = loadResult(folder, options);
  const r = loaded.folder;
  if (folderScale(r) !== 'full') {
    throw new ResultsError(`${shown(r.dir)}/ holds a ${folderScale(r)}-scale result, not the full one; robustlab reproduce <experiment> --scale full writes it`);
  }
  showMarkdown(`Loaded from \`${shown(r.dir)}/\`: ${describeProvenance(r)}. \`robustlab reproduce\` at full scale writes these files; this notebook only reads them.`);
  return loaded;
}

/** One row per results folder: what it is, its scale, when, where and from which commit, and its verdict. */
export function resultsOverview(resultsDir: string = defaultResultsDir()): ColumnTable {
  const rows = listResultFolders(resultsDir);
  return aq.table({
    folder: rows.map((r) => r.folder),
    scale: rows.map(folderScale),
    date: rows.map((r) => (r.date === null ? '' : formatDate(r.date))),
    machine: rows.map((r) => (r.provenance ? describeMachine(r.provenance.machine) : 'not recorded')),
    backend: rows.map((r) => r.meta.backend),
    commit: rows.map((r) => (r.provenance?.commit ? r.provenance.commit.slice(0, 7) : 'not recorded')),
    verdict: rows.map((r) => r.verdict?.verdict ?? 'none recorded'),
  });
}
