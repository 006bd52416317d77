import { describe, expect, it } from 'vitest';
import type { RunResult, StageTime } from '../../dsl/plan-types.js';
import { formatTimeBreakdown, timeBreakdown } from '../../kernel/time-breakdown.js';

const run = (cached: boolean, timing?: StageTime[]) => ({ cached, timing }) as unknown as RunResult;

describe('time breakdown of an experiment', () => {
  const runs = [
    run(false, [
      { stage: 'load-data', seconds: 2, flops: 0 },
      { stage: 'pretrain', seconds: 10, flops: 50e9 },
      { stage: 'certify', seconds: 20, flops: 40e9 },
    ]),
    run(false, [
      { stage: 'pretrain', seconds: 10, flops: 30e9 },
      { stage: 'finetune', seconds: 5, flops: 10e9 },
    ]),
    // Read back: its stored timing is another process's time, not this one's.
    run(true, [{ stage: 'pretrain', seconds: 1000, flops: 1e12 }]),
    // Written before timings were recorded.
    run(false),
  ];

  it('sums the stages of the runs computed here, in pipeline order, and leaves the rest to "other"', () => {
    const b = timeBreakdown(runs, 60);
    expect(b).toEqual({
      runs: 3,
      reused: 1,
      seconds: 60,
      other: 13,
      stages: [
        { stage: 'load-data', seconds: 2, flops: 0 },
        { stage: 'pretrain', seconds: 20, flops: 80e9 },
        { stage: 'finetune', seconds: 5, flops: 10e9 },
        { stage: 'certify', seconds: 20, flops: 40e9 },
      ],
    });
  });

  it('prints seconds, share and achieved GFLOP/s per stage', () => {
    const text = formatTimeBreakdown('certified', timeBreakdown(runs, 60));
    const lines = text.split('\n');
    expect(lines[0]).toBe('time breakdown of certified (3 run(s) computed here, 1 finished run(s) read back):');
    expect(lines.find((l) => l.includes('pre-training'))!.trim().split(/\s{2,}/).slice(1)).toEqual(['20.0', '33.3%', '4.0']);
    expect(lines.find((l) => l.includes('data loading'))!.trim().endsWith('-')).toBe(true);
    expect(lines.find((l) => l.includes('other'))!.trim().split(/\s{2,}/).slice(1)).toEqual(['13.0', '21.7%', '-']);
    expect(lines.at(-1)!.trim().split(/\s{2,}/).slice(1)).toEqual(['60.0', '100%']);
  });

  it('an analysis that runs no plan is all analysis time', () => {
    const text = formatTimeBreakdown('sample-complexity', timeBreakdown([], 35));
    expect(text).toContain('(no plan runs)');
    expect(text).toMatch(/analysis \(simulations, statistics, tables, figures\)\s+35\.0\s+100\.0%/);
  });
});
