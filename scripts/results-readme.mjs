#!/usr/bin/env node
/**
 * `npm run results:readme`: regenerate, from results/<name>/result.json and verdict.json,
 *   - the README's results section (between <!-- results:start --> and <!-- results:end -->),
 *   - results/README.md (when, where, with which backend and commit each folder was measured),
 *   - results/index.html (every verdict, gate, table and figure on one static page).
 *
 *   node scripts/results-readme.mjs [--check]
 *
 * --check changes nothing and exits 1 naming the stale files (npm test checks the same).
 * Needs dist/ (npm run results:readme builds it first).
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--check');
if (unknown.length > 0) {
  console.error(`results:readme: unknown argument ${unknown[0]}; usage: node scripts/results-readme.mjs [--check]`);
  process.exit(2);
}
const views = join(root, 'dist', 'kernel', 'results-views.js');
if (!existsSync(views)) {
  console.error('results:readme: dist/ is missing; run npm run build (npm run results:readme does it)');
  process.exit(2);
}
const { staleResultsViews, writeResultsViews } = await import(pathToFileURL(views).href);
const resultsDir = join(root, 'results');
const readme = join(root, 'README.md');
try {
  if (args.includes('--check')) {
    const stale = staleResultsViews(resultsDir, readme).map((v) => relative(root, v.path));
    if (stale.length > 0) {
      console.error(`results:readme: stale against results/*/result.json: ${stale.join(', ')}; run npm run results:readme`);
      process.exit(1);
    }
    console.log('results:readme: README.md, results/README.md and results/index.html match the results');
  } else {
    const written = writeResultsViews(resultsDir, readme).map((p) => relative(root, p));
    console.log(written.length > 0 ? `results:readme: wrote ${written.join(', ')}` : 'results:readme: already up to date');
  }
} catch (e) {
  if (e && e.userError) {
    console.error(`results:readme: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
