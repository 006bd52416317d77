import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cached, cacheDir, cachePath, readCacheFile } from '../../datasets/cache.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'robustlab-cache-'));
  process.env['ROBUSTLAB_CACHE_DIR'] = dir;
});
afterAll(() => {
  delete process.env['ROBUSTLAB_CACHE_DIR'];
  rmSync(dir, { recursive: true, force: true });
});

const entry = () => ({
  arrays: { a: Uint8Array.from([1, 2, 3]), b: Int32Array.from([-5, 7, 1 << 30]), c: Float32Array.from([0.5, -1.25]) },
  meta: { note: 'x', n: 3 },
});

describe('binary data set cache', () => {
  it('lives under ROBUSTLAB_CACHE_DIR and round-trips typed arrays and meta', () => {
    expect(cacheDir()).toBe(dir);
    let builds = 0;
    const first = cached('roundtrip', () => (builds++, entry()));
    const second = cached('roundtrip', () => (builds++, entry()));
    expect(builds).toBe(1);
    expect(Array.from(second.arrays['a']!)).toEqual([1, 2, 3]);
    expect(second.arrays['b']).toBeInstanceOf(Int32Array);
    expect(Array.from(second.arrays['b']!)).toEqual([-5, 7, 1 << 30]);
    expect(Array.from(second.arrays['c']!)).toEqual([0.5, -1.25]);
    expect(second.meta).toEqual(first.meta);
    expect(readFileSync(cachePath('roundtrip')).toString('latin1', 0, 8)).toBe('RLDSCACH');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('detects a flipped payload byte, reports it once on stderr and rebuilds', () => {
    cached('flip', entry);
    const path = cachePath('flip');
    const corrupt = () => {
      const bytes = readFileSync(path);
      bytes[bytes.length - 9]! ^= 0xff;
      writeFileSync(path, bytes);
    };
    corrupt();
    expect(readCacheFile(path, 'flip').problem).toBe('sha256 mismatch');
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let builds = 0;
    const rebuilt = cached('flip', () => (builds++, entry()));
    corrupt();
    cached('flip', () => (builds++, entry()));
    const messages = stderr.mock.calls.map((c) => String(c[0]));
    stderr.mockRestore();
    expect(builds).toBe(2);
    expect(messages.filter((m) => m.includes('is corrupt'))).toEqual([`robustlab: dataset cache ${path} is corrupt (sha256 mismatch); rebuilding it\n`]);
    expect(Array.from(rebuilt.arrays['b']!)).toEqual([-5, 7, 1 << 30]);
    expect(readCacheFile(path, 'flip').entry).toBeDefined();
  });

  it('detects truncation, a foreign file and a key mismatch', () => {
    cached('trunc', entry);
    const path = cachePath('trunc');
    writeFileSync(path, readFileSync(path).subarray(0, -8));
    expect(readCacheFile(path, 'trunc').problem).toMatch(/^payload is \d+ bytes, header says \d+$/);
    writeFileSync(path, 'not a cache file at all');
    expect(readCacheFile(path, 'trunc').problem).toBe('bad magic bytes');
    cached('other', entry);
    expect(readCacheFile(cachePath('other'), 'trunc').problem).toBe("holds 'other', expected 'trunc'");
    expect(readCacheFile(join(dir, 'missing.bin'), 'missing')).toEqual({});
  });
});
