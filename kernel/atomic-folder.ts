/**
 * Replaces a whole folder at once, so a reader (or git) sees either the complete old folder or the
 * complete new one, never a mix: a full-scale run that dies while writing its report leaves the
 * previous results untouched.
 *
 *   1. the new content is written into a hidden sibling `.<name>.new-<pid>` (deleted if filling fails);
 *   2. once complete it is renamed to `.<name>.ready-<pid>` (the mark that it may replace the old);
 *   3. the old folder is renamed to `.<name>.old-<pid>`, the ready one to `<name>`, the old one deleted.
 *
 * POSIX has no portable atomic swap of two directories, so between the two renames of step 3 `<name>`
 * is briefly absent. recoverFolder() (run before every replace, and by readers that find `<name>`
 * missing) finishes an interrupted swap from what is on disk: a ready folder wins, else the old one
 * comes back; unfinished `.new-` folders of dead processes are deleted.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { syncDir } from '../engine/store/atomic-file.js';

type Stage = 'new' | 'ready' | 'old';

interface Leftover {
  readonly path: string;
  readonly stage: Stage;
  readonly pid: number;
}

function leftovers(target: string): Leftover[] {
  const parent = dirname(target);
  const prefix = `.${basename(target)}.`;
  if (!existsSync(parent)) return [];
  return readdirSync(parent)
    .filter((f) => f.startsWith(prefix))
    .flatMap((f) => {
      const m = /^(new|ready|old)-(\d+)$/.exec(f.slice(prefix.length));
      return m ? [{ path: join(parent, f), stage: m[1] as Stage, pid: Number(m[2]) }] : [];
    });
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Finishes or undoes a replace that a dead process left half done (see the module comment).
 * Leaves other live processes' work alone. Returns what it did, for messages and tests.
 */
export function recoverFolder(target: string): 'nothing' | 'finished' | 'restored' {
  const dead = leftovers(target).filter((l) => !alive(l.pid));
  if (dead.length === 0) return 'nothing';
  let outcome: 'nothing' | 'finished' | 'restored' = 'nothing';
  const ready = dead.filter((l) => l.stage === 'ready').sort((a, b) => b.pid - a.pid)[0];
  if (ready) {
    if (existsSync(target)) renameSync(target, join(dirname(target), `.${basename(target)}.old-${process.pid}`));
    renameSync(ready.path, target);
    outcome = 'finished';
  } else if (!existsSync(target)) {
    const old = dead.find((l) => l.stage === 'old');
    if (old) {
      renameSync(old.path, target);
      outcome = 'restored';
    }
  }
  syncDir(dirname(target));
  for (const l of leftovers(target)) if (!alive(l.pid) || (l.pid === process.pid && l.stage === 'old')) rmSync(l.path, { recursive: true, force: true });
  return outcome;
}

/**
 * Builds the new folder with `fill(tmp)` and puts it in place of `target` in one step. If `fill`
 * throws (or the process dies) the old `target` stays as it was.
 */
export async function replaceFolder(target: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const parent = dirname(target);
  const name = basename(target);
  mkdirSync(parent, { recursive: true });
  recoverFolder(target);
  const fresh = join(parent, `.${name}.new-${process.pid}`);
  const ready = join(parent, `.${name}.ready-${process.pid}`);
  const old = join(parent, `.${name}.old-${process.pid}`);
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh);
  try {
    await fill(fresh);
    syncDir(fresh);
  } catch (e) {
    rmSync(fresh, { recursive: true, force: true });
    throw e;
  }
  renameSync(fresh, ready);
  const hadOld = existsSync(target);
  if (hadOld) renameSync(target, old);
  renameSync(ready, target);
  syncDir(parent);
  if (hadOld) rmSync(old, { recursive: true, force: true });
}
