/**
 * One way to write a Verdict for people, used by the README generator (markdown), the results page
 * and the notebooks (HTML): the claim, the verdict, each gate (name, value, threshold, passed) and
 * each paired comparison (method − baseline on a metric: mean difference, 95% CI, p, test, pairs).
 * Differences are fractions in the data (0.01 = 1 point) and points here.
 */
import type { Comparison, Gate, Verdict } from '../experiments/experiment-result.js';
import { escapeHtml } from './figure.js';

/** Three significant digits without trailing zeros: 0.0512 -> '0.0512', 12.345 -> '12.3', 1e-7 -> '1e-7'. */
export function formatValue(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(3)));
}

/** A fraction as signed points: 0.0123 -> '+1.2', -0.004 -> '−0.4'. */
export function formatPoints(d: number): string {
  const s = (100 * Math.abs(d)).toFixed(1);
  if (s === '0.0') return '0.0';
  return `${d > 0 ? '+' : '−'}${s}`;
}

/** A p value alone: '< 0.001' or '0.063' (table cells). */
export function formatPValue(p: number): string {
  if (!Number.isFinite(p)) return String(p);
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}

/** A p value in prose: 'p < 0.001' or 'p = 0.063'. */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return String(p);
  const v = formatPValue(p);
  return v.startsWith('<') ? `p ${v}` : `p = ${v}`;
}

export function gateLine(g: Gate): string {
  return `${g.passed ? '✓' : '✗'} ${g.name}: ${formatValue(g.value)} (threshold ${formatValue(g.threshold)}) ${g.passed ? 'passed' : 'failed'}`;
}

/** Comparisons past this many are folded in the markdown (a <details> block). */
const FOLD_AFTER = 8;

/** Markdown: verdict and gates as bullets, comparisons as a table (then a newline, so what follows starts a new block). */
export function verdictMarkdown(v: Verdict, indent = ''): string {
  const md = (s: string) => s.replaceAll('|', '\\|').replaceAll('*', '\\*').replaceAll('_', '\\_');
  const lines = [`${indent}- **Verdict:** ${md(v.verdict)} (seeds ${v.seeds.join(', ') || 'none'})`];
  if (v.gates.length > 0) {
    lines.push(`${indent}- **Gates:**`);
    for (const g of v.gates) lines.push(`${indent}  - ${md(gateLine(g))}`);
  }
  if (v.comparisons.length > 0) {
    // One table; the test is named once when every comparison uses the same one; folded when long.
    const tests = [...new Set(v.comparisons.map((c) => c.test))];
    const table = [
      `| method − baseline | metric | difference (points) | 95% CI | p | pairs${tests.length > 1 ? ' | test' : ''} |`,
      `|---|---|--:|--:|--:|--:|${tests.length > 1 ? '---|' : ''}`,
      ...v.comparisons.map(
        (c) =>
          `| ${md(c.method)} − ${md(c.baseline)} | ${md(c.metric)} | ${formatPoints(c.meanDiff)} | [${formatPoints(c.ci95[0])}, ${formatPoints(c.ci95[1])}] | ${formatPValue(c.p)} | ${c.n}${tests.length > 1 ? ` | ${md(c.test)}` : ''} |`,
      ),
    ];
    const heading = `${v.comparisons.length} paired comparison${v.comparisons.length === 1 ? '' : 's'}${tests.length === 1 ? ` (${md(tests[0]!)})` : ''}`;
    if (v.comparisons.length > FOLD_AFTER) lines.push('', '<details>', `<summary>${heading}</summary>`, '', ...table, '', '</details>', '');
    else lines.push(`${indent}- **Paired comparisons:** ${heading}`, '', ...table, '');
  }
  return lines.join('\n');
}

/** The verdict as HTML: claim, verdict, a gates table and a comparisons table. */
export function verdictHtml(v: Verdict): string {
  const e = escapeHtml;
  const num = (s: string) => `<td class="num">${e(s)}</td>`;
  const gates =
    v.gates.length === 0
      ? '<p>No gates.</p>'
      : `<table class="gates"><thead><tr><th>gate</th><th>what it checks</th><th>value</th><th>threshold</th><th>passed</th></tr></thead><tbody>${v.gates
          .map(
            (g) =>
              `<tr class="${g.passed ? 'pass' : 'fail'}"><td>${e(g.name)}</td><td>${e(g.description)}</td>${num(formatValue(g.value))}${num(formatValue(g.threshold))}<td>${g.passed ? '✓ yes' : '✗ no'}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  const comparisons =
    v.comparisons.length === 0
      ? '<p>No paired comparisons.</p>'
      : `<table class="comparisons"><thead><tr><th>method − baseline</th><th>metric</th><th>mean difference (points)</th><th>95% CI (points)</th><th>p</th><th>test</th><th>pairs</th></tr></thead><tbody>${v.comparisons
          .map(
            (c) =>
              `<tr><td>${e(c.method)} − ${e(c.baseline)}</td><td>${e(c.metric)}</td>${num(formatPoints(c.meanDiff))}${num(`[${formatPoints(c.ci95[0])}, ${formatPoints(c.ci95[1])}]`)}${num(formatP(c.p))}<td>${e(c.test)}</td>${num(String(c.n))}</tr>`,
          )
          .join('')}</tbody></table>`;
  return [
    `<p class="claim"><b>Claim:</b> ${e(v.claim)}</p>`,
    `<p class="verdict"><b>Verdict:</b> ${e(v.verdict)} <span class="seeds">(seeds ${e(v.seeds.join(', ') || 'none')})</span></p>`,
    gates,
    comparisons,
  ].join('\n');
}
