/**
 * Results folders written and read back (kernel/report.ts, kernel/results.ts): provenance recorded
 * from the real machine and git, the folder replaced as a whole, a result loaded back as the same
 * tables, and the three generated views (results/README.md, results/index.html, the README section)
 * showing verdicts, gates and comparisons when there is a verdict.json and working without one.
 * No figures here (no chromium needed); test/kernel/figure.test.ts renders them.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as aq from 'arquero';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { projectRoot } from '../../engine/project-root.js';
import type { ExperimentResult, Verdict } from '../../experiments/experiment-result.js';
import { gitState, machine } from '../../kernel/provenance.js';
import { resultsIndexMarkdown, writeReport } from '../../kernel/report.js';
import { resultsPageHtml } from '../../kernel/results-page.js';
import { currentResultsSection, readmeResultsSection, replaceResultsSection, RESULTS_END, RESULTS_START } from '../../kernel/results-readme.js';
import { listResultFolders, loadOrRun, loadResult, readResultFolder, resultsOverview } from '../../kernel/results.js';

const dir = mkdtempSync(join(tmpdir(), 'robustlab-results-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const verdict: Verdict = {
  claim: 'Minimax pre-training raises the worst downstream task.',
  seeds: [0, 1, 2],
  gates: [
    { name: 'pretraining-helps', description: 'pre-training beats a random encoder on the average task', value: 0.0812, threshold: 0.02, passed: true },
    { name: 'weights-moved', description: 'the task weights left uniform', value: 0.004, threshold: 0.05, passed: false },
  ],
  comparisons: [
    { method: 'minimax eta=50', baseline: 'average', metric: 'worst-task accuracy', meanDiff: 0.0123, ci95: [-0.004, 0.0286], p: 0.0625, test: 'Wilcoxon signed-rank (@stdlib/stats-wilcoxon)', n: 5 },
  ],
  verdict: 'no difference detected (CI [-0.4, 2.9] points)',
};

function result(name: string, over: Partial<ExperimentResult> = {}): ExperimentResult {
  return {
    name,
    title: `Title of ${name} | with a bar`,
    scale: 'full',
    tables: { comparison: aq.table({ method: ['average', 'minimax'], worst: [0.68, 0.7] }) },
    figures: [],
    summary: `Summary of ${name}.\n\nAt this scale the claim held.`,
    seconds: 12.5,
    backend: 'tensorflow',
    ...over,
  };
}

describe('provenance', () => {
  it('records this machine: CPU model, cores, the instruction sets /proc/cpuinfo lists', () => {
    const m = machine();
    expect(m.cores).toBe(cpus().length);
    expect(m.cpu).toBe(cpus()[0]!.model.trim());
    const flags = new Set((/^(?:flags|Features)\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').split(/\s+/));
    for (const f of m.isa) expect(flags.has(f), f).toBe(true);
    expect(m.isa.includes('avx2')).toBe(flags.has('avx2'));
    expect(m.isa.includes('avx512f')).toBe(flags.has('avx512f'));
  });

  it("records the checkout's commit, and whether code (not results/ or notebooks/) differs from it", () => {
    const repo = mkdtempSync(join(dir, 'repo-'));
    const git = (...args: string[]) => spawnSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
    git('init', '-q');
    mkdirSync(join(repo, 'results'));
    writeFileSync(join(repo, 'code.ts'), '1\n');
    writeFileSync(join(repo, 'results', 'r.csv'), '1\n');
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    const head = git('rev-parse', 'HEAD').stdout.trim();
    expect(gitState(repo)).toEqual({ commit: head, dirty: false });
    writeFileSync(join(repo, 'results', 'r.csv'), '2\n');
    expect(gitState(repo)).toEqual({ commit: head, dirty: false });
    writeFileSync(join(repo, 'code.ts'), '2\n');
    expect(gitState(repo)).toEqual({ commit: head, dirty: true });
    expect(gitState(mkdtempSync(join(dir, 'not-a-repo-')))).toEqual({ commit: null, dirty: null });
  });
});

describe('writeReport and reading it back', () => {
  it('writes result.json with the provenance, summary and verdict sentence, and verdict.json', async () => {
    const out = join(dir, 'written');
    await writeReport(result('task-robust-cv', { verdict }), out);
    const r = readResultFolder(join(out, 'task-robust-cv'));
    expect(readdirSync(r.dir).sort()).toEqual(['comparison.csv', 'result.json', 'summary.md', 'verdict.json']);
    expect(r.meta.summary).toBe('Summary of task-robust-cv.\n\nAt this scale the claim held.');
    expect(r.meta.verdict).toBe(verdict.verdict);
    expect(r.verdict).toEqual(verdict);
    const head = spawnSync('git', ['-C', projectRoot(), 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    expect(r.provenance).toMatchObject({ scale: 'full', backend: 'tensorflow', commit: head, node: process.version, machine: machine() });
    expect(Date.now() - Date.parse(r.provenance!.date)).toBeLessThan(60_000);
    const summary = readFileSync(join(r.dir, 'summary.md'), 'utf8');
    expect(summary).toContain(`Scale \`full\` · backend \`tensorflow\` · 12.5 s · ${r.provenance!.date.slice(0, 10)}`);
    expect(summary).toContain(`commit \`${head.slice(0, 7)}\``);
  });

  it('replaces the folder as a whole: a table the new result no longer has is gone', async () => {
    const out = join(dir, 'replaced');
    await writeReport(result('certified', { tables: { old: aq.table({ a: [1] }), comparison: aq.table({ a: [1] }) } }), out);
    expect(existsSync(join(out, 'certified', 'old.csv'))).toBe(true);
    await writeReport(result('certified'), out);
    expect(readdirSync(join(out, 'certified')).sort()).toEqual(['comparison.csv', 'result.json', 'summary.md']);
    expect(readdirSync(out)).toEqual(['certified']);
  });

  it('a write that fails midway leaves the previous folder exactly as it was', async () => {
    const out = join(dir, 'failed');
    await writeReport(result('certified'), out);
    const before = readFileSync(join(out, 'certified', 'result.json'), 'utf8');
    // JSON.stringify throws on a BigInt: verdict.json fails after the CSVs and summary.md were written.
    const broken = { ...verdict, seeds: [BigInt(1)] as unknown as number[] };
    await expect(writeReport(result('certified', { verdict: broken, tables: { other: aq.table({ b: [2] }) } }), out)).rejects.toThrow(/BigInt/);
    expect(readdirSync(join(out, 'certified')).sort()).toEqual(['comparison.csv', 'result.json', 'summary.md']);
    expect(readFileSync(join(out, 'certified', 'result.json'), 'utf8')).toBe(before);
    expect(readdirSync(out)).toEqual(['certified']);
  });

  it('writes attachments inside the folder and lists them; refuses an attachment path outside it before writing anything', async () => {
    const out = join(dir, 'attached');
    await writeReport(result('certified', { attachments: [{ path: 'points/mixture-sigma-0.5.tsv', content: 'idx\tlabel\n0\t3\n' }] }), out);
    const r = readResultFolder(join(out, 'certified'));
    expect(r.meta.attachments).toEqual(['points/mixture-sigma-0.5.tsv']);
    expect(readFileSync(join(r.dir, 'points', 'mixture-sigma-0.5.tsv'), 'utf8')).toBe('idx\tlabel\n0\t3\n');
    expect(resultsPageHtml(out)).toContain('<a href="certified/points/mixture-sigma-0.5.tsv">points/mixture-sigma-0.5.tsv</a>');
    await expect(writeReport(result('other', { attachments: [{ path: '../escape.tsv', content: '' }] }), out)).rejects.toThrow("attachment path '../escape.tsv' is not file-safe");
    expect(readdirSync(out)).toEqual(['certified']);
  });

  it('loads a folder back as an ExperimentResult with the same tables, summary and verdict', async () => {
    const out = join(dir, 'loaded');
    const written = result('task-robust-nlp', { verdict, tables: { comparison: aq.table({ method: ['average', 'minimax'], worst: [0.68, 0.7], never: [Infinity, 12] }) } });
    await writeReport(written, out);
    const loaded = loadResult('task-robust-nlp', { resultsDir: out });
    expect(loaded.tables['comparison']!.objects()).toEqual(written.tables['comparison']!.objects());
    expect(loaded.summary).toBe(written.summary);
    expect(loaded.verdict).toEqual(verdict);
    expect([loaded.title, loaded.seconds, loaded.backend, loaded.scale]).toEqual([written.title, 12.5, 'tensorflow', 'full']);
  });
});

describe('loadOrRun', () => {
  it('runs the experiment below full scale, and reads results/<folder>/ at full scale', async () => {
    const out = join(dir, 'load-or-run');
    await writeReport(result('theory-x'), out);
    const ran = result('theory-x', { summary: 'computed now' });
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await loadOrRun('theory-x', 'smoke', () => ran, { resultsDir: out })).toBe(ran);
    const loaded = await loadOrRun('theory-x', 'full', () => ran, { resultsDir: out });
    expect(loaded.summary).toBe('Summary of theory-x.\n\nAt this scale the claim held.');
    expect(log.mock.calls.flat().join('\n')).toMatch(/^Loaded from `.*theory-x\/`: full scale, written \d{4}-\d\d-\d\d \d\d:\d\d UTC on .*, \d+ cores? .*with tensorflow, commit [0-9a-f]{7}/);
    log.mockRestore();
  });

  it('refuses a missing folder and a folder that holds a smoke run, in one line that says what writes it', async () => {
    const out = join(dir, 'refuses');
    await writeReport(result('smoky', { scale: 'smoke' }), out);
    const never = () => {
      throw new Error('must not run');
    };
    await expect(loadOrRun('absent', 'full', never, { resultsDir: out })).rejects.toThrow(/^no result in .*absent\/ \(result\.json missing\); robustlab reproduce <experiment> --scale full writes it$/);
    await expect(loadOrRun('smoky', 'full', never, { resultsDir: out })).rejects.toThrow(/smoky\/ holds a smoke-scale result, not the full one/);
  });

  it('reads the committed folders, including those written before provenance was recorded', () => {
    const folders = listResultFolders();
    expect(folders.length).toBeGreaterThanOrEqual(5);
    for (const f of folders) {
      const loaded = loadResult(f.folder);
      for (const file of f.meta.tables) {
        const lines = readFileSync(join(f.dir, file), 'utf8').trimEnd().split('\n').length;
        expect(loaded.tables[file.replace(/\.csv$/, '')]!.numRows(), `${f.folder}/${file}`).toBe(lines - 1);
      }
      expect(loaded.figures.map((g) => `${g.name}.svg`)).toEqual(f.meta.figures);
      for (const g of loaded.figures) expect(g.svg?.startsWith('<svg'), g.name).toBe(true);
      expect(loaded.summary.length, f.folder).toBeGreaterThan(100);
      expect(loaded.summary).not.toContain('## Tables');
    }
    expect(resultsOverview().numRows()).toBe(folders.length);
  });
});

describe('generated views', () => {
  const views = join(dir, 'views');

  it('the README section shows claim, verdict, every gate and comparison with its CI, and works without a verdict', async () => {
    await writeReport(result('task-robust-cv', { verdict }), views);
    await writeReport(result('theory-convex-convergence'), views);
    const section = readmeResultsSection(views);
    expect(section.startsWith(`${RESULTS_START}\n`) && section.endsWith(RESULTS_END)).toBe(true);
    expect(section).toContain('| [Title of task-robust-cv \\| with a bar](results/task-robust-cv/summary.md) | no difference detected (CI [-0.4, 2.9] points) |');
    expect(section).toContain('- **Claim:** Minimax pre-training raises the worst downstream task.');
    expect(section).toContain('- **Verdict:** no difference detected (CI [-0.4, 2.9] points) (seeds 0, 1, 2)');
    expect(section).toContain('  - ✓ pretraining-helps: 0.0812 (threshold 0.02) passed');
    expect(section).toContain('  - ✗ weights-moved: 0.004 (threshold 0.05) failed');
    expect(section).toContain('- **Paired comparisons:** 1 paired comparison (Wilcoxon signed-rank (@stdlib/stats-wilcoxon))');
    expect(section).toContain('| minimax eta=50 − average | worst-task accuracy | +1.2 | [−0.4, +2.9] | 0.063 | 5 |\n\n- **Measured:**');
    expect(section).toContain('- **Verdict:** none recorded (this result has no verdict.json); its [summary](results/theory-convex-convergence/summary.md) states the conclusion in prose.');
    expect(section).toMatch(/- \*\*Measured:\*\* full scale, written \d{4}-\d\d-\d\d \d\d:\d\d UTC on .* with tensorflow, commit [0-9a-f]{7}.*, 12\.5 s\./);
  });

  it('results/README.md has one row per folder with date, machine, backend and commit', () => {
    const md = resultsIndexMarkdown(views);
    const m = machine();
    const row = md.split('\n').find((l) => l.startsWith('| [Title of task-robust-cv'))!;
    expect(row).toMatch(new RegExp(`^\\| \\[Title of task-robust-cv \\\\\\| with a bar\\]\\(task-robust-cv/summary\\.md\\) \\| full \\| \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\| ${m.cpu.replace(/[()]/g, '.')}, ${m.cores} cores?.*, ${m.memoryGiB} GiB, ${m.os} \\| tensorflow \\| \`[0-9a-f]{7}\`.* \\| 12\\.5 s \\| no difference detected`));
    expect(md).toContain('- tables: [comparison.csv](task-robust-cv/comparison.csv)');
  });

  it('the results page has each verdict with its gates and comparisons tables, and each table linked to its CSV', () => {
    const html = resultsPageHtml(views);
    expect(html).toContain('<section id="result-task-robust-cv">');
    expect(html).toContain('<p class="claim"><b>Claim:</b> Minimax pre-training raises the worst downstream task.</p>');
    expect(html).toContain('<tr class="fail"><td>weights-moved</td><td>the task weights left uniform</td><td class="num">0.004</td><td class="num">0.05</td><td>✗ no</td></tr>');
    expect(html).toContain('<td>minimax eta=50 − average</td><td>worst-task accuracy</td><td class="num">+1.2</td><td class="num">[−0.4, +2.9]</td><td class="num">p = 0.063</td>');
    expect(html).toContain('<a href="task-robust-cv/comparison.csv">comparison.csv</a>');
    expect(html).toContain('none recorded (no verdict.json)');
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it('the README markers: the section is replaced between them; a README without them is a one-line error', () => {
    const readme = `# x\n\n## Results\n\n${RESULTS_START}\nold\n${RESULTS_END}\n\n## More\n`;
    const next = replaceResultsSection(readme, readmeResultsSection(views));
    expect(next.startsWith('# x\n\n## Results\n\n<!-- results:start -->\n')).toBe(true);
    expect(next.endsWith(`${RESULTS_END}\n\n## More\n`)).toBe(true);
    expect(currentResultsSection(next)).toBe(readmeResultsSection(views));
    expect(() => replaceResultsSection('# x\n', 'y')).toThrow(/^README\.md needs exactly one '<!-- results:start -->' followed by one '<!-- results:end -->' line around its results section$/);
    expect(() => replaceResultsSection(`${RESULTS_END}\n${RESULTS_START}\n`, 'y')).toThrow(/needs exactly one/);
  });
});
