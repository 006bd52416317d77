import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from './errors.js';

/**
 * The IDX format of the MNIST files (LeCun et al.): a big-endian magic number 0x000008DD (0x08 = unsigned
 * bytes, DD = number of dimensions), one u32 per dimension, then the values. Gzipped files (the published
 * `.gz` downloads, Debian's `dataset-fashion-mnist`) are accepted as they are.
 */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** Read an unsigned-byte IDX file with `ndims` dimensions; DatasetError on a wrong magic, truncation or trailing bytes. */
export function readIdx(path: string, ndims: 1 | 3, what: string): IdxArray {
  if (!existsSync(path)) throw new DatasetError(`${what} file ${path} does not exist; check the path`);
  let bytes: Buffer = readFileSync(path);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      throw new DatasetError(`${what} file ${path} is a damaged gzip file; download it again`);
    }
  }
  const expectedMagic = 0x800 + ndims;
  const kind = ndims === 1 ? 'labels (idx1-ubyte)' : 'images (idx3-ubyte)';
  if (bytes.length < 4) throw new DatasetError(`${what} file ${path} is truncated: ${bytes.length} bytes is shorter than an IDX header; download it again`);
  const magic = bytes.readUInt32BE(0);
  if (magic !== expectedMagic) {
    throw new DatasetError(
      `${what} file ${path} is not an IDX ${kind} file: magic number 0x${magic.toString(16).padStart(8, '0')}, expected 0x${expectedMagic.toString(16).padStart(8, '0')}; pass the ${ndims === 1 ? '*-labels-idx1-ubyte' : '*-images-idx3-ubyte'} file`,
    );
  }
  if (bytes.length < 4 + 4 * ndims) throw new DatasetError(`${what} file ${path} is truncated: ${bytes.length} bytes is shorter than an IDX header; download it again`);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(bytes.readUInt32BE(4 + 4 * d));
  const start = 4 + 4 * ndims;
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - start;
  if (actual < expected) throw new DatasetError(`${what} file ${path} is truncated: its header promises ${dims.join('x')} = ${expected} bytes of data but it holds ${actual}; download it again`);
  if (actual > expected) throw new DatasetError(`${what} file ${path} has the wrong size: its header promises ${dims.join('x')} = ${expected} bytes of data but it holds ${actual}; the header or the file is damaged`);
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + start, expected) };
}
