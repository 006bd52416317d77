/**
 * Where a run's time goes: wall seconds per stage, and the FLOPs of the work done in them (the plan's estimate,
 * counted only for the work this process did). Their ratio is each stage's achieved GFLOP/s.
 */
import type { StageTime } from '../dsl/plan-types.js';

export type TimedStage = StageTime['stage'];

/** Pipeline order of the stages a breakdown lists. */
export const TIMED_STAGES: readonly TimedStage[] = ['load-data', 'pretrain', 'finetune', 'evaluate', 'certify'];

export class StageClock {
  private readonly spent = new Map<TimedStage, { seconds: number; flops: number }>();

  /** Runs `work`, adding its wall time and the FLOPs `flops(result)` says it did to `stage`. */
  async time<T>(stage: TimedStage, work: () => T | Promise<T>, flops: (result: T) => number = () => 0): Promise<T> {
    const start = performance.now();
    const result = await work();
    this.add(stage, (performance.now() - start) / 1000, flops(result));
    return result;
  }

  add(stage: TimedStage, seconds: number, flops = 0): void {
    const s = this.spent.get(stage) ?? { seconds: 0, flops: 0 };
    this.spent.set(stage, { seconds: s.seconds + seconds, flops: s.flops + flops });
  }

  /** The stages that took time, in pipeline order. */
  entries(): StageTime[] {
    return TIMED_STAGES.filter((s) => this.spent.has(s)).map((stage) => ({ stage, ...this.spent.get(stage)! }));
  }
}
