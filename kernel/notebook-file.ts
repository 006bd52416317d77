/**
 * An executed notebook as it is committed: executing it again on unchanged results changes no byte.
 * nbclient records when each cell ran (cell.metadata.execution) and splits a cell's printed text into
 * as many stream outputs as the kernel happened to flush; both are noise in a diff. This removes the
 * timing, merges consecutive outputs of one stream, splits text into lines the way nbformat does,
 * and writes the JSON with sorted keys and one-space indent (nbformat's layout). Figure and table
 * outputs are already reproducible where they are made (kernel/display.ts, kernel/figure.ts).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, Json>;
  metadata?: Record<string, Json>;
  transient?: Json;
  [key: string]: Json | undefined;
}

interface Cell {
  cell_type: string;
  metadata?: Record<string, Json>;
  source?: string | string[];
  outputs?: Output[];
  [key: string]: Json | Output[] | undefined;
}

const joinText = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : (t ?? ''));

/** nbformat's multiline strings: lines with their line ends, the last without. */
function splitLines(s: string): string[] {
  const lines = s.split(/(?<=\n)/);
  return lines.length === 1 && lines[0] === '' ? [] : lines;
}

/** MIME types whose data nbformat stores as a list of lines (JSON types stay objects, binary types stay base64). */
function isTextMime(mime: string): boolean {
  return mime.startsWith('text/') || mime === 'image/svg+xml' || mime === 'application/javascript';
}

function normaliseOutputs(outputs: readonly Output[]): Output[] {
  const merged: Output[] = [];
  for (const o of outputs) {
    const prev = merged[merged.length - 1];
    if (o.output_type === 'stream' && prev?.output_type === 'stream' && prev.name === o.name) {
      prev.text = joinText(prev.text) + joinText(o.text);
      continue;
    }
    const { transient: _transient, ...rest } = o;
    merged.push(o.output_type === 'stream' ? { ...rest, text: joinText(o.text) } : rest);
  }
  for (const o of merged) {
    if (o.output_type === 'stream') o.text = splitLines(joinText(o.text));
    if (o.data) {
      for (const [mime, value] of Object.entries(o.data)) {
        if (isTextMime(mime) && (typeof value === 'string' || Array.isArray(value))) o.data[mime] = splitLines(joinText(value as string | string[]));
      }
    }
  }
  return merged;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/**
 * The notebook (parsed JSON or its text) in its committed form, as text ending in a newline.
 * `numberCells`: set each code cell's execution_count to its position (1, 2, ...). tslab sends no
 * execute_input message, so nbclient leaves every count null and viewers show the cells as never
 * run; pass it only for a notebook whose every code cell was just executed in order.
 */
export function normaliseNotebook(notebook: unknown, options: { numberCells?: boolean } = {}): string {
  const nb = structuredClone(typeof notebook === 'string' ? (JSON.parse(notebook) as unknown) : notebook) as { cells: Cell[]; metadata?: Record<string, Json> };
  if (!nb || !Array.isArray(nb.cells)) throw new Error('not a notebook: no cells');
  let count = 0;
  for (const cell of nb.cells) {
    if (cell.metadata) delete cell.metadata['execution'];
    if (options.numberCells && cell.cell_type === 'code') {
      count += 1;
      cell['execution_count'] = count;
      for (const o of cell.outputs ?? []) if (o.output_type === 'execute_result') o['execution_count'] = count;
    }
    if (cell.source !== undefined) cell.source = splitLines(joinText(cell.source));
    if (cell.cell_type === 'code' && Array.isArray(cell.outputs)) cell.outputs = normaliseOutputs(cell.outputs);
  }
  return `${JSON.stringify(sortKeys(nb), null, 1)}\n`;
}
