/**
 * A results folder is replaced as a whole (kernel/atomic-folder.ts): readers see the complete old
 * folder or the complete new one, a replace that fails or is killed leaves the old one, and the next
 * replace (or a reader) finishes or undoes what a killed process left half done.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recoverFolder, replaceFolder } from '../../kernel/atomic-folder.js';
import { ROOT } from '../reliability/child-run.js';

const base = mkdtempSync(join(tmpdir(), 'robustlab-atomic-folder-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A folder `name` under a fresh parent, holding old.csv and a.csv ('old'). */
function oldFolder(name: string): { parent: string; target: string } {
  const parent = mkdtempSync(join(base, 'p-'));
  const target = join(parent, name);
  mkdirSync(target);
  writeFileSync(join(target, 'a.csv'), 'old\n');
  writeFileSync(join(target, 'old.csv'), 'only in the old result\n');
  return { parent, target };
}

const contents = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

/** The pid of a process that has exited (a stand-in for a run that died). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('replaceFolder', () => {
  it('replaces the whole folder: files of the old result do not linger, nothing temporary is left', async () => {
    const { parent, target } = oldFolder('task-robust-cv');
    await replaceFolder(target, async (tmp) => {
      writeFileSync(join(tmp, 'a.csv'), 'new\n');
      writeFileSync(join(tmp, 'result.json'), '{}\n');
    });
    expect(contents(target)).toEqual({ 'a.csv': 'new\n', 'result.json': '{}\n' });
    expect(readdirSync(parent)).toEqual(['task-robust-cv']);
  });

  it('creates the folder (and its parents) when there was none', async () => {
    const target = join(mkdtempSync(join(base, 'p-')), 'results', 'smoke', 'certified');
    await replaceFolder(target, async (tmp) => writeFileSync(join(tmp, 'x.csv'), '1\n'));
    expect(contents(target)).toEqual({ 'x.csv': '1\n' });
  });

  it('leaves the old folder untouched when filling the new one fails, and cleans up after itself', async () => {
    const { parent, target } = oldFolder('certified');
    const before = contents(target);
    await expect(
      replaceFolder(target, async (tmp) => {
        writeFileSync(join(tmp, 'a.csv'), 'half of a new result\n');
        throw new Error('renderer crashed');
      }),
    ).rejects.toThrow('renderer crashed');
    expect(contents(target)).toEqual(before);
    expect(readdirSync(parent)).toEqual(['certified']);
  });

  it('a process killed while filling leaves the old folder intact; the next replace removes its leftover', async () => {
    const { parent, target } = oldFolder('theory-convex-convergence');
    const before = contents(target);
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'kernel', 'fixtures', 'fill-then-hang.ts'), target], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('filling') && resolve());
      child.on('exit', (code) => reject(new Error(`child exited (${code}) before filling: ${stderr}`)));
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    expect(contents(target)).toEqual(before);
    const leftover = `.theory-convex-convergence.new-${child.pid}`;
    expect(readdirSync(parent).sort()).toEqual([leftover, 'theory-convex-convergence']);
    expect(contents(join(parent, leftover))).toEqual({ 'a.csv': 'new\n' });

    await replaceFolder(target, async (tmp) => writeFileSync(join(tmp, 'a.csv'), 'newer\n'));
    expect(contents(target)).toEqual({ 'a.csv': 'newer\n' });
    expect(readdirSync(parent)).toEqual(['theory-convex-convergence']);
  });
});

describe('recoverFolder (a process died between the renames)', () => {
  it('finishes the swap when the complete new folder is marked ready and the old one was moved aside', () => {
    const { parent, target } = oldFolder('certified');
    const pid = deadPid();
    const ready = join(parent, `.certified.ready-${pid}`);
    mkdirSync(ready);
    writeFileSync(join(ready, 'a.csv'), 'new\n');
    spawnSync('mv', [target, join(parent, `.certified.old-${pid}`)]);
    expect(existsSync(target)).toBe(false);

    expect(recoverFolder(target)).toBe('finished');
    expect(contents(target)).toEqual({ 'a.csv': 'new\n' });
    expect(readdirSync(parent)).toEqual(['certified']);
  });

  it('finishes the swap when the ready folder exists and the old one is still in place', () => {
    const { parent, target } = oldFolder('certified');
    const ready = join(parent, `.certified.ready-${deadPid()}`);
    mkdirSync(ready);
    writeFileSync(join(ready, 'a.csv'), 'new\n');
    expect(recoverFolder(target)).toBe('finished');
    expect(contents(target)).toEqual({ 'a.csv': 'new\n' });
    expect(readdirSync(parent)).toEqual(['certified']);
  });

  it('brings the old folder back when no complete new one exists', () => {
    const { parent, target } = oldFolder('certified');
    const before = contents(target);
    const pid = deadPid();
    spawnSync('mv', [target, join(parent, `.certified.old-${pid}`)]);
    mkdirSync(join(parent, `.certified.new-${pid}`));
    expect(recoverFolder(target)).toBe('restored');
    expect(contents(target)).toEqual(before);
    expect(readdirSync(parent)).toEqual(['certified']);
  });

  it("leaves a live process's replace alone", () => {
    const { parent, target } = oldFolder('certified');
    mkdirSync(join(parent, `.certified.new-${process.ppid}`));
    expect(recoverFolder(target)).toBe('nothing');
    expect(readdirSync(parent).sort()).toEqual([`.certified.new-${process.ppid}`, 'certified']);
  });
});
