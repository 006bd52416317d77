/**
 * Scale-separated outputs: only `reproduce --scale full` without --only/--seeds writes the committed
 * results/<experiment>/; a smoke run (what CI does) writes results/smoke/<experiment>/, which git
 * ignores, and leaves every committed file as it was.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultsDestination } from '../../cli/reproduce.js';
import { readResultFolder } from '../../kernel/results.js';
import { ROOT } from '../reliability/child-run.js';

const results = join(ROOT, 'results');

/** Every file under results/ except the ignored smoke/ and custom/ folders, with its hash. */
function committedFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (dir === results && (e.name === 'smoke' || e.name === 'custom')) continue;
        walk(path);
      } else out[relative(ROOT, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(results);
  return out;
}

describe('resultsDestination', () => {
  const root = '/p';
  it('full without --only/--seeds is the published results/; smoke and custom runs have their own folders', () => {
    expect(resultsDestination({ scale: 'full', root })).toEqual({ kind: 'full', out: '/p/results', published: true });
    expect(resultsDestination({ scale: 'smoke', root })).toEqual({ kind: 'smoke', out: '/p/results/smoke', published: false });
    expect(resultsDestination({ scale: 'full', root, only: ['average'] })).toEqual({ kind: 'custom', out: '/p/results/custom', published: false });
    expect(resultsDestination({ scale: 'full', root, seeds: [0] })).toEqual({ kind: 'custom', out: '/p/results/custom', published: false });
    expect(resultsDestination({ scale: 'smoke', root, out: '/elsewhere' })).toEqual({ kind: 'smoke', out: '/elsewhere', published: false });
  });

  it('refuses to point a smoke or custom run at results/ itself', () => {
    expect(() => resultsDestination({ scale: 'smoke', root, out: '/p/results/' })).toThrow(
      "results/ holds only full-scale runs without --only/--seeds; this smoke run writes to results/smoke/ (leave out --out)",
    );
    expect(() => resultsDestination({ scale: 'full', root, seeds: [1], out: '/p/results' })).toThrow('this custom run writes to results/custom/');
  });
});

describe('robustlab reproduce --scale smoke (a real run)', () => {
  it('writes results/smoke/<experiment>/ with its provenance and changes no committed file', async () => {
    const before = committedFiles();
    const gitBefore = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', 'results/'], { encoding: 'utf8' }).stdout;
    const started = Date.now();
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli.ts'), 'reproduce', 'convex-convergence', '--scale', 'smoke'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => void (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (c) => resolve({ code: c, stderr: err }));
    });
    expect(code, stderr).toBe(0);

    const folder = readResultFolder(join(results, 'smoke', 'theory-convex-convergence'));
    expect(folder.provenance?.scale).toBe('smoke');
    expect(Date.parse(folder.provenance!.date)).toBeGreaterThanOrEqual(started - 1000);
    expect(statSync(join(results, 'smoke', 'README.md')).mtimeMs).toBeGreaterThanOrEqual(started - 1000);
    expect(readFileSync(join(results, 'smoke', 'index.html'), 'utf8')).toContain('<section id="result-theory-convex-convergence">');

    expect(committedFiles()).toEqual(before);
    expect(spawnSync('git', ['-C', ROOT, 'status', '--porcelain', 'results/'], { encoding: 'utf8' }).stdout).toBe(gitBefore);
    expect(spawnSync('git', ['-C', ROOT, 'check-ignore', '-q', 'results/smoke/theory-convex-convergence/result.json']).status).toBe(0);
  });
});
