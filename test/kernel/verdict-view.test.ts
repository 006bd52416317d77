import { describe, expect, it } from 'vitest';
import type { Comparison, Verdict } from '../../experiments/experiment-result.js';
import { verdictMarkdown } from '../../kernel/verdict-view.js';

const comparison = (i: number, test = 'paired t'): Comparison => ({
  method: `method ${i}`,
  baseline: 'natural',
  metric: 'worst task',
  meanDiff: i === 0 ? 0.026 : -0.004,
  ci95: [0.017, 0.035],
  p: i === 0 ? 0.0078 : 0.0001,
  test,
  n: 8,
});

const verdict = (comparisons: Comparison[]): Verdict => ({
  claim: 'minimax improves the worst task',
  seeds: [0, 1],
  gates: [{ name: 'G1 pre-training helps', description: 'pre-trained beats untrained', value: 0.056, threshold: 0.03, passed: true }],
  comparisons,
  verdict: 'holds',
});

describe('verdictMarkdown', () => {
  it('writes the comparisons as one table, the shared test named once, p without its prefix', () => {
    const md = verdictMarkdown(verdict([comparison(0), comparison(1)]));
    expect(md).toContain('- **Paired comparisons:** 2 paired comparisons (paired t)');
    expect(md).toContain('| method 0 − natural | worst task | +2.6 | [+1.7, +3.5] | 0.008 | 8 |');
    expect(md).toContain('| method 1 − natural | worst task | −0.4 | [+1.7, +3.5] | < 0.001 | 8 |');
    expect(md).not.toContain('<details>');
    // A blank line ends the table, so the next bullet is not swallowed into it.
    expect(md.endsWith('\n')).toBe(true);
  });

  it('folds more than eight comparisons and adds a test column when tests differ', () => {
    const md = verdictMarkdown(verdict([...Array.from({ length: 8 }, (_, i) => comparison(i)), comparison(8, 'exact McNemar')]));
    expect(md).toContain('<details>\n<summary>9 paired comparisons</summary>');
    expect(md).toContain('| method 8 − natural | worst task | −0.4 | [+1.7, +3.5] | < 0.001 | 8 | exact McNemar |');
    expect(md.trimEnd().endsWith('</details>')).toBe(true);
  });
});
