/**
 * Where an experiment's hour went: the stage times of the runs it ran (RunResult.timing), summed, with each
 * stage's achieved GFLOP/s (the plans' FLOP estimates for the work done, over the seconds it took), and the
 * rest of the wall time (statistics, tables, figures; all of it for the theory simulations, which run no plan).
 */
import type { RunResult, StageTime } from '../dsl/plan-types.js';
import { StageClock } from '../engine/stage-clock.js';

const STAGE_NAMES: Readonly<Record<StageTime['stage'], string>> = {
  'load-data': 'data loading',
  pretrain: 'pre-training',
  finetune: 'fine-tuning / probing',
  evaluate: 'evaluation',
  certify: 'certification',
};

export interface TimeBreakdown {
  /** Runs computed in this process, and finished runs read back (they cost no time here). */
  readonly runs: number;
  readonly reused: number;
  /** Summed over the runs computed here, in pipeline order. */
  readonly stages: readonly StageTime[];
  /** Wall seconds of the experiment outside the runs' stages. */
  readonly other: number;
  readonly seconds: number;
}

export function timeBreakdown(results: readonly RunResult[], seconds: number): TimeBreakdown {
  const computed = results.filter((r) => !r.cached);
  const clock = new StageClock();
  for (const t of computed.flatMap((r) => r.timing ?? [])) clock.add(t.stage, t.seconds, t.flops);
  const stages = clock.entries();
  const inStages = stages.reduce((a, s) => a + s.seconds, 0);
  return { runs: computed.length, reused: results.length - computed.length, stages, other: Math.max(0, seconds - inStages), seconds };
}

/** A plain-text table: stage, seconds, share of the wall time, achieved GFLOP/s. */
export function formatTimeBreakdown(name: string, b: TimeBreakdown): string {
  const rows: [string, number, string][] = [
    ...b.stages.map((s): [string, number, string] => [STAGE_NAMES[s.stage], s.seconds, s.flops > 0 && s.seconds > 0 ? (s.flops / s.seconds / 1e9).toFixed(1) : '-']),
    [b.stages.length ? 'other (start-up, statistics, figures)' : 'analysis (simulations, statistics, tables, figures)', b.other, '-'],
  ];
  const width = Math.max(...rows.map((r) => r[0].length), 'total'.length);
  const line = (stage: string, seconds: string, share: string, gflops: string) => `  ${stage.padEnd(width)}  ${seconds.padStart(9)}  ${share.padStart(6)}  ${gflops.padStart(7)}`;
  const runs = b.runs + b.reused === 0 ? 'no plan runs' : `${b.runs} run(s) computed here${b.reused ? `, ${b.reused} finished run(s) read back` : ''}`;
  return [
    `time breakdown of ${name} (${runs}):`,
    line('stage', 'seconds', 'share', 'GFLOP/s'),
    ...rows.map(([stage, seconds, gflops]) => line(stage, seconds.toFixed(1), b.seconds > 0 ? `${((100 * seconds) / b.seconds).toFixed(1)}%` : '-', gflops)),
    line('total', b.seconds.toFixed(1), '100%', ''),
  ].join('\n');
}
