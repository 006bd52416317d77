import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { TextTask } from './downstream.js';
import { DatasetError } from './errors.js';
import { normaliseText } from './text-split.js';
import { loadMlmCorpus } from './text.js';

/**
 * A user's own text classification task, from two files (train and test) in either format:
 *   .jsonl  one object per line: {"text": "...", "label": "pos" | 3}
 *   .csv    a header with `text` and `label` columns, RFC 4180 quoting ("..." with "" for a quote)
 * It comes back as a TextTask tokenized with the MLM corpus' vocabulary, like the built-in tasks.
 * DatasetError on a missing file, a malformed line, an unknown or out-of-range label, an empty split, or
 * a text that appears (after lowercasing and collapsing whitespace) in both train and test.
 */
export interface TextFiles {
  readonly train: string;
  readonly test: string;
  /** Class names; labels may be these names or their indices. Default: the train labels, sorted. */
  readonly classNames?: readonly string[];
  readonly name?: string;
  readonly seqLen?: number;
  readonly vocabSize?: number;
}

interface Row {
  readonly text: string;
  readonly label: string;
}

export function loadTextTaskFromFiles(files: TextFiles): TextTask {
  const train = readRows(files.train, 'train');
  const test = readRows(files.test, 'test');
  const classNames = files.classNames ?? [...new Set(train.map((r) => r.label))].sort(byNumberOrText);
  if (classNames.length === 0) throw new DatasetError('classNames is empty; give one name per class or leave it out');
  const labelOf = (r: Row, split: string, line: number) => {
    const byName = classNames.indexOf(r.label);
    if (byName >= 0) return byName;
    const n = Number(r.label);
    if (files.classNames !== undefined && Number.isInteger(n) && n >= 0 && n < classNames.length && r.label.trim() !== '') return n;
    throw new DatasetError(`${split} example ${line} has label '${r.label}', which is not one of the ${classNames.length} classes (${classNames.slice(0, 5).join(', ')}${classNames.length > 5 ? ', ...' : ''}); fix the label or pass classNames`);
  };
  const seen = new Set(train.map((r) => normaliseText(r.text)));
  const leaked = test.filter((r) => seen.has(normaliseText(r.text))).length;
  if (leaked > 0) throw new DatasetError(`${leaked} test text(s) also appear in train (${files.test}); remove them from one side so the test set measures generalisation`);
  const seqLen = files.seqLen ?? 32;
  const vocab = loadMlmCorpus({ seqLen, vocabSize: files.vocabSize ?? 8000 }).vocab;
  const encode = (rows: Row[], split: string) => {
    const tokens = new Int32Array(rows.length * seqLen);
    const labels = new Uint8Array(rows.length);
    rows.forEach((r, i) => {
      tokens.set(vocab.encode(r.text, seqLen), i * seqLen);
      labels[i] = labelOf(r, split, i + 1);
    });
    return { tokens, labels, count: rows.length };
  };
  if (classNames.length > 256) throw new DatasetError(`${classNames.length} classes is more than the 256 a label byte holds; merge classes`);
  return {
    kind: 'text',
    name: files.name ?? 'user-text',
    classNames,
    numClasses: classNames.length,
    seqLen,
    vocab,
    train: encode(train, 'train'),
    test: encode(test, 'test'),
  };
}

function readRows(path: string, split: string): Row[] {
  if (!existsSync(path)) throw new DatasetError(`${split} file ${path} does not exist; check the path`);
  const content = readFileSync(path, 'utf8');
  const ext = extname(path).toLowerCase();
  let rows: Row[];
  if (ext === '.jsonl') rows = readJsonl(content, path);
  else if (ext === '.csv') rows = readCsv(content, path);
  else throw new DatasetError(`${split} file ${path} must end in .jsonl or .csv, got '${ext || 'no extension'}'`);
  if (rows.length === 0) throw new DatasetError(`the ${split} split is empty: ${path} holds no examples; supply at least one ${split} example`);
  return rows;
}

function readJsonl(content: string, path: string): Row[] {
  const rows: Row[] = [];
  content.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw new DatasetError(`${path} line ${i + 1} is not JSON; write one {"text": ..., "label": ...} object per line`);
    }
    const { text, label } = (o ?? {}) as { text?: unknown; label?: unknown };
    if (typeof text !== 'string' || (typeof label !== 'string' && typeof label !== 'number')) {
      throw new DatasetError(`${path} line ${i + 1} needs a string "text" and a string or number "label"`);
    }
    rows.push({ text, label: String(label) });
  });
  return rows;
}

function readCsv(content: string, path: string): Row[] {
  const records = parseCsv(content, path);
  const header = records.shift()?.map((h) => h.trim().toLowerCase()) ?? [];
  const ti = header.indexOf('text');
  const li = header.indexOf('label');
  if (ti < 0 || li < 0) throw new DatasetError(`${path} needs a header line with 'text' and 'label' columns, got '${header.join(',')}'`);
  return records
    .filter((r) => !(r.length === 1 && r[0] === ''))
    .map((r, i) => {
      if (r.length !== header.length) throw new DatasetError(`${path} record ${i + 2} has ${r.length} fields, the header has ${header.length}; quote fields that contain commas`);
      return { text: r[ti]!, label: r[li]!.trim() };
    });
}

/** RFC 4180: fields separated by commas, records by newlines, "quoted" fields may hold both ("" is a quote). */
function parseCsv(content: string, path: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < content.length; i++) {
    const ch = content[i]!;
    if (quoted) {
      if (ch === '"' && content[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && content[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += ch;
  }
  if (quoted) throw new DatasetError(`${path} ends inside a quoted field; close the quote`);
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

function byNumberOrText(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}
