/**
 * results/index.html: every results folder on one static page — where and when it was measured, the
 * claim's verdict with its gates and paired comparisons, every table (the first rows, linked to the
 * complete CSV) and every figure (the SVG files themselves). No script, no network: it opens from
 * file://, from `robustlab results` (a server on 127.0.0.1) and as far as a code host shows HTML.
 * The page is a pure function of the folders, so regenerating it without new results changes nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../engine/store/atomic-file.js';
import { escapeHtml } from './figure.js';
import { describeProvenance, listResultFolders, readTable, type ResultFolder } from './results.js';
import { verdictHtml } from './verdict-view.js';

/** Rows of each table shown on the page; the CSV link has all of them. */
const PAGE_ROWS = 20;

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-top: 1px solid #ccc; padding-top: 1em; margin-top: 2em; }
.provenance { color: #555; } .claim, .verdict { margin: 0.3em 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 13px; } th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } tr.pass td:last-child { color: #060; } tr.fail td:last-child { color: #a00; font-weight: bold; }
.table-wrap { overflow-x: auto; } figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
nav li { margin: 0.2em 0; }
`;

function folderId(r: ResultFolder): string {
  return `result-${r.folder}`;
}

function link(r: ResultFolder, file: string, text = file): string {
  return `<a href="${escapeHtml(`${encodeURIComponent(r.folder)}/${encodeURIComponent(file)}`)}">${escapeHtml(text)}</a>`;
}

/** The SVG's own width and height (plotly writes both), so the page reserves the right space. */
function svgSize(r: ResultFolder, file: string): { width: number; height: number } | null {
  const head = readFileSync(join(r.dir, file), 'utf8').slice(0, 600);
  const w = /<svg[^>]*\swidth="(\d+(?:\.\d+)?)"/.exec(head)?.[1];
  const h = /<svg[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(head)?.[1];
  return w && h ? { width: Math.round(Number(w)), height: Math.round(Number(h)) } : null;
}

function tableSection(r: ResultFolder, file: string): string {
  const table = readTable(r, file);
  const more = table.numRows() - PAGE_ROWS;
  const note = more > 0 ? `the first ${PAGE_ROWS} of ${table.numRows()} rows; all in ${link(r, file)}` : `as CSV: ${link(r, file)}`;
  return [`<h4>${escapeHtml(file.replace(/\.csv$/, ''))} <small>(${note})</small></h4>`, `<div class="table-wrap">${table.toHTML({ limit: PAGE_ROWS })}</div>`].join('\n');
}

function figureSection(r: ResultFolder, file: string, i: number): string {
  const name = file.replace(/\.(svg|html)$/, '');
  if (!file.endsWith('.svg')) return `<p>${link(r, file, `${name} (interactive HTML)`)}</p>`;
  const size = svgSize(r, file);
  const dims = size ? ` width="${size.width}" height="${size.height}"` : '';
  const spec = r.meta.figureSpecs?.[i];
  const caption = `${escapeHtml(name)} · ${link(r, file, 'SVG')}${spec ? ` · ${link(r, spec, 'plotly JSON')}` : ''}`;
  return `<figure><a href="${escapeHtml(`${encodeURIComponent(r.folder)}/${encodeURIComponent(file)}`)}"><img src="${escapeHtml(`${encodeURIComponent(r.folder)}/${encodeURIComponent(file)}`)}" alt="${escapeHtml(name)}"${dims}></a><figcaption>${caption}</figcaption></figure>`;
}

function folderSection(r: ResultFolder): string {
  const parts = [
    `<section id="${escapeHtml(folderId(r))}">`,
    `<h2>${escapeHtml(r.meta.title)}</h2>`,
    `<p class="provenance">${escapeHtml(describeProvenance(r))} · ${r.meta.seconds.toFixed(1)} s · ${link(r, 'summary.md', 'summary')}${r.verdict ? ` · ${link(r, 'verdict.json')}` : ''} · ${link(r, 'result.json')}</p>`,
    r.verdict ? verdictHtml(r.verdict) : `<p class="verdict"><b>Verdict:</b> none recorded (no verdict.json); the ${link(r, 'summary.md', 'summary')} states the conclusion in prose.</p>`,
  ];
  const attachments = r.meta.attachments ?? [];
  if (attachments.length > 0) {
    const links = attachments.map((a) => `<a href="${escapeHtml(`${encodeURIComponent(r.folder)}/${a.split('/').map(encodeURIComponent).join('/')}`)}">${escapeHtml(a)}</a>`);
    parts.push(`<p class="attachments"><b>Evidence files:</b> ${links.join(', ')}</p>`);
  }
  if (r.meta.tables.length > 0) parts.push('<h3>Tables</h3>', ...r.meta.tables.map((f) => tableSection(r, f)));
  if (r.meta.figures.length > 0) parts.push('<h3>Figures</h3>', ...r.meta.figures.map((f, i) => figureSection(r, f, i)));
  parts.push('</section>');
  return parts.join('\n');
}

/** The page for every results folder under `resultsDir` (links relative to it). */
export function resultsPageHtml(resultsDir: string): string {
  const folders = listResultFolders(resultsDir);
  const nav = folders
    .map((r) => `<li><a href="#${escapeHtml(folderId(r))}">${escapeHtml(r.meta.title)}</a> — ${escapeHtml(r.verdict?.verdict ?? 'no verdict recorded')}</li>`)
    .join('\n');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>robustlab results</title>',
    // An empty icon: otherwise the browser asks for /favicon.ico, which does not exist (a 404 in the console).
    '<link rel="icon" href="data:,">',
    `<style>${STYLE}</style></head><body>`,
    '<h1>robustlab results</h1>',
    '<p>Every experiment of <code>robustlab reproduce</code> at full scale, as committed: verdict, gates, tables and figures. ' +
      'Generated from each folder\'s <code>result.json</code> and <code>verdict.json</code> (<code>npm run results:readme</code>); ' +
      'served locally by <code>npx robustlab results</code>. <a href="README.md">results/README.md</a> lists the same folders.</p>',
    folders.length === 0 ? '<p>No experiment results yet.</p>' : `<nav><ul>\n${nav}\n</ul></nav>`,
    ...folders.map(folderSection),
    '</body></html>',
    '',
  ].join('\n');
}

/** Writes <resultsDir>/index.html (resultsPageHtml) and returns its path. */
export function writeResultsPage(resultsDir: string): string {
  const path = join(resultsDir, 'index.html');
  writeFileAtomic(path, resultsPageHtml(resultsDir));
  return path;
}
