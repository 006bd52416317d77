/** Display helpers and progress outside a notebook (plain text), and the Plan as an HTML table. */
import { PassThrough } from 'node:stream';
import * as aq from 'arquero';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pretrain } from '../../dsl/index.js';
import { planHtml, showPlan, showTable } from '../../kernel/display.js';
import { inNotebook } from '../../kernel/notebook-context.js';
import { createProgress } from '../../kernel/progress.js';

function sink(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString('utf8')));
  return { stream: Object.assign(s, { isTTY }) as unknown as NodeJS.WriteStream, text: () => text };
}

afterEach(() => vi.restoreAllMocks());

describe('outside a notebook', () => {
  it('is detected as not a notebook, and showTable prints a markdown table cut at the limit', () => {
    expect(inNotebook()).toBe(false);
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
    showTable(aq.table({ task: ['noun', 'verb', 'adj'], accuracy: [0.91, 0.85, 0.8] }), { limit: 2 });
    expect(lines.join('\n')).toBe('|task|accuracy|\n|:-|-:|\n|noun|0.91|\n|verb|0.85|\n… 1 more rows of 3\n');
  });

  it('showPlan prints the plan explanation', () => {
    const plan = pretrain().compile({ target: 'cpu' });
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
    showPlan(plan);
    expect(lines).toEqual([plan.explain()]);
  });
});

describe('planHtml', () => {
  it('has one row per stage with its kind, FLOPs and the plan hash', () => {
    const plan = pretrain().compile({ target: 'cpu' });
    const html = planHtml(plan.toJSON());
    expect(html).toContain(plan.toJSON().hash);
    const rows = html.match(/<tr><td>\d+<\/td><td><code>([a-z-]+)<\/code>/g)!.map((r) => r.replace(/.*<code>/, '').replace('</code>', ''));
    expect(rows).toEqual(['load-data', 'split-tasks', 'pretrain']);
    expect(html).toMatch(/<td style="text-align:right">[\d.]+ [kMGTP]?FLOP<\/td>/);
  });
});

describe('createProgress', () => {
  it('on a non-TTY prints every 10% and the final state, one line each', () => {
    const out = sink(false);
    const p = createProgress({ total: 100, label: 'pretrain', stream: out.stream });
    for (let step = 1; step <= 100; step++) p.update(step, { loss: 1 / step });
    p.done();
    const lines = out.text().trimEnd().split('\n');
    expect(lines.map((l) => l.match(/^\[pretrain\] (\d+)\/100/)![1])).toEqual(['1', '11', '21', '31', '41', '51', '61', '71', '81', '91', '100']);
    expect(lines.at(-1)).toContain('loss 0.0100');
  });

  it('on a TTY rewrites one line and ends it on done()', () => {
    const out = sink(true);
    const p = createProgress({ total: 3, label: 'certify', stream: out.stream });
    p.update(1, { abstain: 0.5 });
    p.update(2);
    p.done();
    const text = out.text();
    expect(text.split('\r\x1b[2K').filter(Boolean).map((s) => s.match(/(\d)\/3/)![1])).toEqual(['1', '2', '2']);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n').length).toBe(2);
  });
});
