import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

/** The robustlab package root (holds package.json), found from this file whether it runs from source or dist/. */
export function projectRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'robustlab') return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('robustlab: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}
