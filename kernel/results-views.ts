/**
 * The three views generated from the results folders, kept together so they never disagree:
 * results/README.md (provenance table), results/index.html (the results page) and the section of the
 * project README between its results markers. `robustlab reproduce --scale full` refreshes them
 * after each experiment; `npm run results:readme` refreshes them from what is on disk.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../engine/store/atomic-file.js';
import { resultsIndexMarkdown } from './report.js';
import { resultsPageHtml } from './results-page.js';
import { readmeResultsSection, replaceResultsSection } from './results-readme.js';

export interface ResultsView {
  readonly path: string;
  /** What the file holds now ('' when it does not exist). */
  readonly current: string;
  /** What the generator produces from the folders. */
  readonly expected: string;
}

/** Each generated file with its current and expected text. `readme` is the project README (its section only is generated). */
export function resultsViews(resultsDir: string, readme?: string): ResultsView[] {
  const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');
  const views: ResultsView[] = [
    { path: join(resultsDir, 'README.md'), current: read(join(resultsDir, 'README.md')), expected: resultsIndexMarkdown(resultsDir) },
    { path: join(resultsDir, 'index.html'), current: read(join(resultsDir, 'index.html')), expected: resultsPageHtml(resultsDir) },
  ];
  if (readme !== undefined) {
    const current = read(readme);
    views.push({ path: readme, current, expected: replaceResultsSection(current, readmeResultsSection(resultsDir), readme) });
  }
  return views;
}

/** The generated files that differ from what the folders say. */
export function staleResultsViews(resultsDir: string, readme?: string): ResultsView[] {
  return resultsViews(resultsDir, readme).filter((v) => v.current !== v.expected);
}

/** Rewrites every stale view; returns the paths it wrote. */
export function writeResultsViews(resultsDir: string, readme?: string): string[] {
  const stale = staleResultsViews(resultsDir, readme);
  for (const v of stale) writeFileAtomic(v.path, v.expected);
  return stale.map((v) => v.path);
}
