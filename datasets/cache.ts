import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A compact binary cache for converted data sets, so that only the first load pays for parsing JSON or text.
 *
 * File layout (little-endian):
 *   bytes 0..7   magic "RLDSCACH"
 *   bytes 8..11  format version (u32)
 *   bytes 12..15 header length H (u32)
 *   16..16+H     header: UTF-8 JSON { key, arrays: [{ name, dtype, shape, offset, byteLength }], meta, payloadBytes, sha256 }
 *   then zero padding to a multiple of 8, then the payload: every array's bytes, each at an 8-aligned offset.
 *
 * Guarantees: a file is written to a temporary name, fsynced and renamed, so a reader sees either the old
 * file or the complete new one; every load recomputes the payload's sha256 and compares it with the header,
 * so a flipped byte, a truncation or a foreign file is detected. A corrupt cache is reported once on stderr
 * and rebuilt; a missing one is rebuilt silently.
 */

export type CachedArray = Uint8Array | Int32Array | Float32Array;
export type CacheMeta = Record<string, unknown>;
export interface CacheEntry {
  readonly arrays: Readonly<Record<string, CachedArray>>;
  readonly meta: CacheMeta;
}

const MAGIC = 'RLDSCACH';
/** 2: the checksum covers the header (key, arrays, meta) as well as the payload. */
export const CACHE_FORMAT_VERSION = 2;

type DType = 'uint8' | 'int32' | 'float32';
interface ArrayHeader {
  name: string;
  dtype: DType;
  length: number;
  offset: number;
  byteLength: number;
}
interface Header {
  key: string;
  arrays: ArrayHeader[];
  meta: CacheMeta;
  payloadBytes: number;
  sha256: string;
}

/** `$ROBUSTLAB_CACHE_DIR`, else `<robustlab package root>/.cache/datasets`. */
export function cacheDir(): string {
  const env = process.env['ROBUSTLAB_CACHE_DIR'];
  if (env !== undefined && env !== '') return resolve(env);
  return join(projectRoot(), '.cache', 'datasets');
}

/** The cache file of one key (keys are file-name safe: letters, digits, '-', '_', '.'). */
export function cachePath(key: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(key)) throw new Error(`cache key '${key}' is not file-name safe`);
  // The format version is in the name, so processes of different versions never rebuild each other's files.
  return join(cacheDir(), `${key}.v${CACHE_FORMAT_VERSION}.bin`);
}

const reportedCorrupt = new Set<string>();

/**
 * The cached arrays for `key`, or what `build()` returns (then written to the cache). A corrupt file is
 * reported once per process on stderr and rebuilt.
 */
export function cached(key: string, build: () => CacheEntry): CacheEntry {
  const path = cachePath(key);
  const hit = readCacheFile(path, key);
  if (hit.entry !== undefined) return hit.entry;
  if (hit.problem !== undefined && !reportedCorrupt.has(path)) {
    reportedCorrupt.add(path);
    process.stderr.write(`robustlab: dataset cache ${path} is corrupt (${hit.problem}); rebuilding it\n`);
  }
  const entry = build();
  writeCacheFile(path, key, entry);
  return entry;
}

/** Read and verify one cache file: `entry` when valid, `problem` when present but corrupt, neither when missing. */
export function readCacheFile(path: string, key: string): { entry?: CacheEntry; problem?: string } {
  if (!existsSync(path)) return {};
  const file = readFileSync(path);
  if (file.length < 16 || file.toString('latin1', 0, 8) !== MAGIC) return { problem: 'bad magic bytes' };
  const version = file.readUInt32LE(8);
  if (version !== CACHE_FORMAT_VERSION) return { problem: `format version ${version}, expected ${CACHE_FORMAT_VERSION}` };
  const headerLength = file.readUInt32LE(12);
  if (16 + headerLength > file.length) return { problem: 'truncated header' };
  let header: Header;
  try {
    header = JSON.parse(file.toString('utf8', 16, 16 + headerLength)) as Header;
  } catch {
    return { problem: 'unreadable header' };
  }
  if (header === null || typeof header !== 'object' || !Array.isArray(header.arrays)) return { problem: 'malformed header' };
  if (header.key !== key) return { problem: `holds '${header.key}', expected '${key}'` };
  const start = align8(16 + headerLength);
  if (file.length !== start + header.payloadBytes) return { problem: `payload is ${file.length - start} bytes, header says ${header.payloadBytes}` };
  const payload = file.subarray(start);
  const digest = headerHash(header).update(payload).digest('hex');
  if (digest !== header.sha256) return { problem: 'sha256 mismatch' };
  const arrays: Record<string, CachedArray> = {};
  for (const a of header.arrays) arrays[a.name] = view(payload, a);
  return { entry: { arrays, meta: header.meta } };
}

/** The sha256 starts with the header's content, so a flipped bit in the header is caught like one in the payload. */
function headerHash(h: Pick<Header, 'key' | 'arrays' | 'meta' | 'payloadBytes'>): ReturnType<typeof createHash> {
  return createHash('sha256').update(JSON.stringify({ key: h.key, arrays: h.arrays, meta: h.meta, payloadBytes: h.payloadBytes }));
}

/** Write atomically: temporary file, fsync, rename. */
export function writeCacheFile(path: string, key: string, entry: CacheEntry): void {
  const arrays: ArrayHeader[] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(entry.arrays)) {
    arrays.push({ name, dtype: dtypeOf(a), length: a.length, offset, byteLength: a.byteLength });
    offset = align8(offset + a.byteLength);
  }
  const payloadBytes = offset;
  const hash = headerHash({ key, arrays, meta: entry.meta, payloadBytes });
  const chunks: Uint8Array[] = [];
  for (const a of Object.values(entry.arrays)) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const padding = new Uint8Array(align8(a.byteLength) - a.byteLength);
    chunks.push(bytes, padding);
    hash.update(bytes).update(padding);
  }
  const header: Header = { key, arrays, meta: entry.meta, payloadBytes, sha256: hash.digest('hex') };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(align8(16 + headerBytes.length));
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(CACHE_FORMAT_VERSION, 8);
  prefix.writeUInt32LE(headerBytes.length, 12);
  headerBytes.copy(prefix, 16);

  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'w');
  try {
    writeAll(fd, prefix);
    for (const c of chunks) writeAll(fd, c);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

function view(payload: Buffer, a: ArrayHeader): CachedArray {
  const at = payload.byteOffset + a.offset;
  const aligned = at % 4 === 0;
  switch (a.dtype) {
    case 'uint8':
      return new Uint8Array(payload.buffer, at, a.length);
    case 'int32':
      return aligned ? new Int32Array(payload.buffer, at, a.length) : new Int32Array(payload.buffer.slice(at, at + a.byteLength));
    case 'float32':
      return aligned ? new Float32Array(payload.buffer, at, a.length) : new Float32Array(payload.buffer.slice(at, at + a.byteLength));
  }
}

function dtypeOf(a: CachedArray): DType {
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int32Array) return 'int32';
  return 'float32';
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** The nearest folder above this module whose package.json is robustlab's. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'robustlab') return dir;
      } catch {
        /* not ours: keep walking */
      }
    }
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}
