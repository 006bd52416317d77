/**
 * The paired-difference ("forest") plot every verdict shows: one row per comparison, its mean difference and 95%
 * interval in percentage points, coloured by what the caller's rule says of it (green: the claim's direction,
 * red: against it, grey: undecided), with a dashed line where the rule's threshold is not 0.
 */
import type { Comparison, FigureSpec } from './experiment-result.js';

export function differencePlot(
  title: string,
  comparisons: readonly Comparison[],
  label: (c: Comparison) => string,
  options: { readonly xTitle: string; readonly line?: number; readonly leftMargin: number; readonly outcome: (c: Comparison) => 'for' | 'against' | 'undecided' },
): FigureSpec {
  const rows = [...comparisons].reverse();
  const line = options.line ?? 0;
  const colour = (c: Comparison) => ({ for: '#2ca02c', against: '#d62728', undecided: '#7f7f7f' })[options.outcome(c)];
  return {
    name: 'paired-differences',
    data: [
      {
        type: 'scatter',
        mode: 'markers',
        x: rows.map((c) => 100 * c.meanDiff),
        y: rows.map(label),
        error_x: { type: 'data', symmetric: false, array: rows.map((c) => 100 * (c.ci95[1] - c.meanDiff)), arrayminus: rows.map((c) => 100 * (c.meanDiff - c.ci95[0])), visible: true },
        marker: { size: 9, color: rows.map(colour) },
        showlegend: false,
      },
    ],
    layout: {
      title: { text: title },
      xaxis: { title: { text: options.xTitle } },
      yaxis: { automargin: true },
      margin: { l: options.leftMargin },
      shapes: [
        { type: 'line', x0: 0, x1: 0, y0: 0, y1: 1, yref: 'paper', line: { color: '#000', width: 1 } },
        ...(line !== 0 ? [{ type: 'line', x0: 100 * line, x1: 100 * line, y0: 0, y1: 1, yref: 'paper', line: { color: '#d62728', width: 1, dash: 'dash' } }] : []),
      ],
    },
  };
}
