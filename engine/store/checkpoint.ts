/**
 * Checkpoint files: named float32 tensors plus JSON metadata, verified by a SHA-256 of the payload.
 *
 * Layout: "RLCK" | uint32 version | uint32 headerBytes | header JSON | payload (float32 LE).
 * The header lists {name, shape, offset} per tensor, free-form `meta`, and the sha256 of the header's
 * other fields (as JSON) followed by the payload — so a flipped bit in the metadata (step, RNG state,
 * history) is caught as surely as one in the weights. Version 1 files (sha256 of the payload only) still load.
 * A truncated, bit-flipped or foreign file is reported as an EngineError, never silently used.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic-file.js';
import { EngineError } from '../errors.js';
import type { SavedTensor } from '../models/parameters.js';

const MAGIC = 0x4b434c52; // "RLCK" little-endian
const VERSION = 2;

export interface Checkpoint<M> {
  readonly tensors: SavedTensor[];
  readonly meta: M;
}

interface Header<M> {
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
  sha256: string;
  meta: M;
}

export function saveCheckpoint<M>(path: string, tensors: readonly SavedTensor[], meta: M): void {
  let total = 0;
  const entries = tensors.map((t) => {
    const e = { name: t.name, shape: [...t.shape], offset: total, length: t.values.length };
    total += t.values.length;
    return e;
  });
  const payload = new Float32Array(total);
  tensors.forEach((t, i) => payload.set(t.values, entries[i]!.offset));
  const bytes = new Uint8Array(payload.buffer);
  const header: Header<M> = { tensors: entries, sha256: digest(2, entries, meta, bytes), meta };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(12);
  pre.writeUInt32LE(MAGIC, 0);
  pre.writeUInt32LE(VERSION, 4);
  pre.writeUInt32LE(headerBytes.length, 8);
  // Pad the header so the payload starts 4-byte aligned (a Float32Array view needs it).
  const pad = (4 - ((12 + headerBytes.length) % 4)) % 4;
  writeFileAtomic(path, Buffer.concat([pre, headerBytes, Buffer.alloc(pad, 0x20), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
}

export function loadCheckpoint<M>(path: string): Checkpoint<M> {
  if (!existsSync(path)) throw new EngineError(`checkpoint ${path} does not exist`);
  const buf = readFileSync(path);
  const bad = (why: string): never => {
    throw new EngineError(`checkpoint ${path} is corrupt (${why}); delete it to retrain that stage`);
  };
  if (buf.length < 12 || buf.readUInt32LE(0) !== MAGIC) bad('not a robustlab checkpoint');
  const version = buf.readUInt32LE(4);
  if (version !== VERSION && version !== 1) bad(`version ${version}, expected ${VERSION}`);
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) bad('truncated header');
  let header: Header<M>;
  try {
    header = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8')) as Header<M>;
  } catch {
    return bad('unreadable header');
  }
  if (!header || !Array.isArray(header.tensors) || typeof header.sha256 !== 'string' || !header.tensors.every(wellFormed)) bad('malformed header');
  const start = 12 + hlen + ((4 - ((12 + hlen) % 4)) % 4);
  const total = header.tensors.reduce((s, t) => s + t.length, 0);
  if (buf.length !== start + total * 4) bad(`payload is ${buf.length - start} bytes, expected ${total * 4}`);
  const payload = buf.subarray(start);
  if (digest(version, header.tensors, header.meta, payload) !== header.sha256) bad('checksum mismatch');
  const values = new Float32Array(payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength));
  const tensors = header.tensors.map((t) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.length || t.offset + t.length > total) bad(`tensor ${t.name} has inconsistent shape`);
    return { name: t.name, shape: t.shape, values: values.slice(t.offset, t.offset + t.length) };
  });
  return { tensors, meta: header.meta };
}

/** Version 2: sha256 over the header's tensor list and meta (as JSON) and then the payload; version 1: the payload only. */
function digest(version: number, tensors: Header<unknown>['tensors'], meta: unknown, payload: Uint8Array): string {
  const hash = createHash('sha256');
  if (version >= 2) hash.update(JSON.stringify({ tensors, meta }));
  return hash.update(payload).digest('hex');
}

function wellFormed(t: unknown): t is Header<unknown>['tensors'][number] {
  const e = t as Header<unknown>['tensors'][number];
  const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  return typeof e === 'object' && e !== null && typeof e.name === 'string' && Array.isArray(e.shape) && e.shape.every(count) && count(e.offset) && count(e.length);
}
