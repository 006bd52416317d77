/** normaliseNotebook: an executed notebook in the form that is committed, the same bytes for the same outputs. */
import { describe, expect, it } from 'vitest';
import { normaliseNotebook } from '../../kernel/notebook-file.js';

/** What nbclient saves: timing metadata, a cell's text split over several stream outputs as the kernel flushed it. */
function executed(flushes: string[]): unknown {
  return {
    nbformat_minor: 5,
    nbformat: 4,
    metadata: { language_info: { name: 'typescript' }, kernelspec: { name: 'robustlab', display_name: 'robustlab (TypeScript)', language: 'typescript' } },
    cells: [
      { id: 'a', cell_type: 'markdown', metadata: {}, source: '# Title\n\ntext' },
      {
        id: 'b',
        cell_type: 'code',
        execution_count: null,
        metadata: { execution: { 'iopub.execute_input': '2026-12-03T07:00:00.123Z', 'shell.execute_reply': '2026-12-03T07:00:01.456Z' }, tags: ['keep'] },
        source: ['console.log(1);\n', 'console.log(2);'],
        outputs: [
          ...flushes.map((text) => ({ output_type: 'stream', name: 'stdout', text })),
          { output_type: 'display_data', metadata: {}, transient: { display_id: 'f00dfeed' }, data: { 'text/html': '<table>\n<tr><td>1</td></tr>\n</table>', 'application/vnd.plotly.v1+json': { data: [{ x: [1] }], layout: {} } } },
          { output_type: 'stream', name: 'stderr', text: 'warn\n' },
          { output_type: 'stream', name: 'stdout', text: 'after\n' },
        ],
      },
    ],
  };
}

describe('normaliseNotebook', () => {
  it('gives the same bytes however the kernel split its printed text, and without execution times', () => {
    const a = normaliseNotebook(executed(['1\n2\n']));
    const b = normaliseNotebook(executed(['1', '\n', '2\n']));
    expect(a).toBe(b);
    const nb = JSON.parse(a) as { cells: { metadata: Record<string, unknown>; outputs?: { output_type: string; name?: string; text?: string[]; data?: Record<string, unknown>; transient?: unknown }[]; source: string[] }[] };
    const cell = nb.cells[1]!;
    expect(cell.metadata).toEqual({ tags: ['keep'] });
    expect(cell.outputs!.map((o) => [o.output_type, o.name ?? '', o.text ?? ''])).toEqual([
      ['stream', 'stdout', ['1\n', '2\n']],
      ['display_data', '', ''],
      ['stream', 'stderr', ['warn\n']],
      ['stream', 'stdout', ['after\n']],
    ]);
    expect(cell.outputs![1]!.transient).toBeUndefined();
    expect(cell.outputs![1]!.data).toEqual({ 'application/vnd.plotly.v1+json': { data: [{ x: [1] }], layout: {} }, 'text/html': ['<table>\n', '<tr><td>1</td></tr>\n', '</table>'] });
    expect(nb.cells[0]!.source).toEqual(['# Title\n', '\n', 'text']);
  });

  it("writes nbformat's layout: sorted keys, one-space indent, a final newline; normalising twice changes nothing", () => {
    const a = normaliseNotebook(executed(['1\n']));
    expect(a.startsWith('{\n "cells": [\n  {\n   "cell_type": "markdown",\n   "id": "a",\n')).toBe(true);
    expect(a.endsWith('\n "nbformat": 4,\n "nbformat_minor": 5\n}\n')).toBe(true);
    expect(normaliseNotebook(a)).toBe(a);
  });

  it('numbers the code cells 1, 2, ... when asked (tslab reports no execution counts)', () => {
    const nb = JSON.parse(normaliseNotebook(executed(['1\n']), { numberCells: true })) as { cells: { cell_type: string; execution_count?: number }[] };
    expect(nb.cells.map((c) => c.execution_count)).toEqual([undefined, 1]);
  });

  it('refuses what is not a notebook', () => {
    expect(() => normaliseNotebook({ metadata: {} })).toThrow('not a notebook: no cells');
  });
});
