/**
 * The house's one-way arrows (ARCHITECTURE.md), checked on the import graph of every source file:
 * cli -> kernel / queue -> experiments -> theory -> engine -> dsl -> datasets, never back; the DSL loads no tensor library; inside engine/ the
 * wings form layers (backend -> ops -> models -> store -> pretrain / finetune -> certify -> run-plan);
 * nothing in the engine imports the worker pool; and there is no import cycle anywhere.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_FOLDERS = ['dsl', 'engine', 'datasets', 'theory', 'experiments', 'kernel', 'cli', 'queue', 'bench'];

function sourceFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(join(ROOT, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** file -> the project files it imports (relative specifiers only) and the packages it imports. */
function importGraph(): Map<string, { local: string[]; packages: string[] }> {
  const files = [...SOURCE_FOLDERS.flatMap(sourceFiles), 'index.ts', 'cli.ts'];
  const graph = new Map<string, { local: string[]; packages: string[] }>();
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const local: string[] = [];
    const packages: string[] = [];
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (spec.startsWith('.')) local.push(normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'));
      else packages.push(spec);
    }
    graph.set(file, { local, packages });
  }
  return graph;
}

const graph = importGraph();
const folder = (file: string) => file.split('/')[0]!;

/** Engine wings in layers: a file may import its own layer or lower ones, never a higher one. */
function engineLayer(file: string): number {
  const rel = relative('engine', file);
  const wing = rel.includes('/') ? rel.split('/')[0]! : rel.replace(/\.ts$/, '');
  const layers: Record<string, number> = {
    errors: 0, progress: 0, 'project-root': 0, random: 0, 'stage-clock': 0,
    backend: 1, ops: 2, models: 3, store: 4, 'device-data': 4,
    pretrain: 5, finetune: 5, certify: 6, 'run-plan': 7, 'open-run': 7,
  };
  const layer = layers[wing];
  if (layer === undefined) throw new Error(`engine wing of ${file} has no layer in this test; add it`);
  return layer;
}

/** Top-level folders in layers: a folder may import its own layer or lower ones. */
const FOLDER_LAYERS: Readonly<Record<string, number>> = {
  datasets: 0, dsl: 1, engine: 2, theory: 3, experiments: 4, kernel: 5, queue: 5, cli: 6, bench: 6,
};

describe('architecture: arrows go one way', () => {
  it('no folder imports a higher one (cli -> kernel / queue -> experiments -> theory -> engine -> dsl -> datasets)', () => {
    const back: string[] = [];
    for (const [file, { local }] of graph) {
      const from = FOLDER_LAYERS[folder(file)];
      if (from === undefined) continue;
      for (const t of local) if ((FOLDER_LAYERS[folder(t)] ?? 0) > from) back.push(`${file} -> ${t}`);
    }
    expect(back).toEqual([]);
  });

  it('the DSL imports only the DSL and the data catalog, and no tensor library', () => {
    for (const [file, { local, packages }] of graph) {
      if (folder(file) !== 'dsl') continue;
      expect(local.filter((t) => folder(t) !== 'dsl' && t !== 'datasets/catalog.ts'), file).toEqual([]);
      expect(packages.filter((p) => p.startsWith('@tensorflow')), file).toEqual([]);
    }
  });

  it('data sets import nothing of ours but data sets', () => {
    for (const [file, { local }] of graph) if (folder(file) === 'datasets') expect(local.filter((t) => folder(t) !== 'datasets'), file).toEqual([]);
  });

  it('inside engine/, no wing imports a higher layer', () => {
    const back: string[] = [];
    for (const [file, { local }] of graph) {
      if (folder(file) !== 'engine') continue;
      for (const t of local) if (folder(t) === 'engine' && engineLayer(t) > engineLayer(file)) back.push(`${file} -> ${t}`);
    }
    expect(back).toEqual([]);
  });

  it('there is no import cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const t of graph.get(file)?.local ?? []) visit(t, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('sees the whole tree (the scanner found the engine wings)', () => {
    const wings = new Set([...graph.keys()].filter((f) => folder(f) === 'engine').map((f) => relative('engine', f).split('/')[0]));
    for (const w of ['backend', 'ops', 'models', 'store', 'pretrain', 'finetune', 'certify', 'run-plan.ts']) expect(wings.has(w), w).toBe(true);
  });
});
