/**
 * The artifact store every worker reaches: plans, checkpoints, fine-tuned classifiers and certification
 * shards travel through it, keyed by (plan hash, path inside the run directory).
 *
 * - A shared path (the default, `--store DIR`): DIR/<hash>/<path>, the run store's own layout, so DIR is
 *   a runs directory; every file is written atomically (temp file, fsync, rename).
 * - Redis (`--store redis`): one Redis hash per plan, robustlab:store:<hash>, field <path>; a write is one
 *   HSET, so it is atomic too. Meant for small models, so that two machines need nothing but Redis.
 *
 * Only the paths below exist: a name is built from a validated hash and our own run-store names, and is
 * checked again here, so nothing from a job can reach a path outside the store.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Redis } from 'ioredis';
import { writeFileAtomic } from '../engine/store/atomic-file.js';
import { openRedis, type RedisTarget } from './connection.js';
import { QueueError } from './errors.js';

/** Paths a store holds for a plan (relative to its run directory). */
const ARTIFACT = new RegExp(
  [
    String.raw`plan\.json`,
    String.raw`pretrain/(checkpoint\.bin|metrics\.csv)`,
    String.raw`finetune/[a-z][a-z0-9-]*(@\d+)?\.bin`,
    String.raw`stages/(pretrain|finetune|evaluate|certify)\.json`,
    String.raw`certify/[a-z][a-z0-9-]*-sigma-[0-9.e+-]+\.tsv`,
    // <task>(-<setting>-<value>)+, a sequential shard's radii joined by '_'.
    String.raw`certify-shards/[a-z][a-z0-9-]*(-[a-z0-9]+-[0-9.e+_-]+)+/\d+-\d+\.(tsv|json)`,
  ]
    .map((p) => `(${p})`)
    .join('|')
    .replace(/^/, '^(')
    .replace(/$/, ')$'),
);
const PLAN_HASH = /^[0-9a-f]{16}$/;

/** Largest artifact the Redis store takes: it is for small models. */
export const REDIS_STORE_MAX_BYTES = 64 * 2 ** 20;

export interface ArtifactStore {
  /** For messages: the folder, or the Redis it lives in. */
  readonly description: string;
  /** The bytes, or null when the store does not have them. */
  get(hash: string, path: string): Promise<Buffer | null>;
  has(hash: string, path: string): Promise<boolean>;
  /** Writes the files, in order; each is complete or absent, never torn (the Redis store writes them all at once). */
  put(hash: string, files: readonly (readonly [string, string | Uint8Array])[]): Promise<void>;
  /** Paths under a folder of a plan's entry (e.g. 'certify-shards/<config>/'). */
  list(hash: string, prefix: string): Promise<string[]>;
  /** Where a path sits on this machine's disk, when the store is a folder (else null). */
  localPath(hash: string, path: string): string | null;
  close(): Promise<void>;
}

function check(hash: string, path: string): void {
  if (!PLAN_HASH.test(hash) || !ARTIFACT.test(path) || path.split('/').some((part) => part === '..' || part === '.')) {
    throw new QueueError(`the store holds run files only; refused '${hash}/${path}'`);
  }
}

/** The store as a folder that every worker reaches (NFS, a shared disk, or this machine's runs/). */
export class PathStore implements ArtifactStore {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = this.root;
  }

  localPath(hash: string, path: string): string {
    check(hash, path);
    const full = resolve(this.root, hash, path);
    if (!full.startsWith(this.root + sep)) throw new QueueError(`the store holds run files only; refused '${hash}/${path}'`);
    return full;
  }

  async get(hash: string, path: string): Promise<Buffer | null> {
    const full = this.localPath(hash, path);
    return existsSync(full) ? readFileSync(full) : null;
  }

  async has(hash: string, path: string): Promise<boolean> {
    return existsSync(this.localPath(hash, path));
  }

  async put(hash: string, files: readonly (readonly [string, string | Uint8Array])[]): Promise<void> {
    for (const [path, data] of files) writeFileAtomic(this.localPath(hash, path), data);
  }

  async list(hash: string, prefix: string): Promise<string[]> {
    const dir = resolve(this.root, hash, prefix);
    if (!dir.startsWith(this.root + sep) || !existsSync(dir)) return [];
    return readdirSync(dir)
      .map((name) => join(prefix, name).split(sep).join('/'))
      .filter((p) => ARTIFACT.test(p));
  }

  async close(): Promise<void> {}
}

/** The store in Redis itself: for small models, so that machines share nothing but Redis. */
export class RedisStore implements ArtifactStore {
  readonly description: string;

  constructor(
    private readonly redis: Redis,
    shown: string,
    private readonly prefix = 'robustlab:store:',
  ) {
    this.description = `the Redis store at ${shown}`;
  }

  localPath(): null {
    return null;
  }

  async get(hash: string, path: string): Promise<Buffer | null> {
    check(hash, path);
    return this.redis.hgetBuffer(this.prefix + hash, path);
  }

  async has(hash: string, path: string): Promise<boolean> {
    check(hash, path);
    return (await this.redis.hexists(this.prefix + hash, path)) === 1;
  }

  async put(hash: string, files: readonly (readonly [string, string | Uint8Array])[]): Promise<void> {
    const args: (string | Buffer)[] = [];
    for (const [path, data] of files) {
      check(hash, path);
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      if (bytes.length > REDIS_STORE_MAX_BYTES) {
        throw new QueueError(`${path} of plan ${hash} is ${(bytes.length / 2 ** 20).toFixed(0)} MiB; the Redis store takes up to ${REDIS_STORE_MAX_BYTES / 2 ** 20} MiB per file (it is for small models): use --store <a folder every worker reaches>`);
      }
      args.push(path, bytes);
    }
    if (args.length) await this.redis.hset(this.prefix + hash, ...args);
  }

  async list(hash: string, prefix: string): Promise<string[]> {
    const keys = await this.redis.hkeys(this.prefix + hash);
    return keys.filter((k) => k.startsWith(prefix) && ARTIFACT.test(k));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** Whether two paths are the same file (a path store that is also this machine's runs directory). */
export function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** `--store redis` (the queue's Redis), or a folder; `fallback` when the flag is absent. */
export function openStore(flag: string | undefined, fallback: string, target: RedisTarget): ArtifactStore {
  if (flag === 'redis') return new RedisStore(openRedis(target), target.shown);
  if (flag === '') throw new QueueError("--store needs a folder every worker reaches, or 'redis'");
  return new PathStore(flag ?? fallback);
}
