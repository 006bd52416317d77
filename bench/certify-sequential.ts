/**
 * Sequential CERTIFY against fixed-n CERTIFY on the certified experiment's trained full-scale models (issue #20).
 *
 * For each test point (the experiment's own sample, in its order) and sigma, one stream of noise is drawn in
 * batches: the n0 selection draws pick cA, then the n estimation draws are counted batch by batch. Fixed-n
 * CERTIFY reads all n; sequential CERTIFY (engine/certify/sequential.ts) reads the same draws up to the look it
 * stops at. So both answer on identical noise, and the only difference is where the sequential one stops. As in
 * certifySequential given the label, a point whose selected class is not its label takes no estimation draws; the
 * ratio without that stop (the radius rule alone) is printed beside it.
 *
 * Prints, per model and sigma, the noisy passes (n0 + draws) each took, and certified accuracy at the reported
 * radii both ways with the fixed-n accuracy's exact 95% interval; then the one line
 * `certify-sequential: passes ratio X.XX, max accuracy difference Y.Y pts`.
 *
 * Usage: npm run build && node dist/bench/certify-sequential.js [--points=200] [--skip=0] [--models=mixture,cohen] [--runs=DIR]
 *        [--final-shares=0.9,0.5] (shares of alpha the last look spends, compared on the same noise; the first is the headline)
 * Uses the full-scale certified runs in the runs directory when they are there, and trains the missing models
 * (through fine-tuning, the full scale's plan) when not.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../engine/backend/selection.js';
import { pointSeed } from '../engine/certify/dataset.js';
import { FINAL_SHARE, sequentialCertify } from '../engine/certify/sequential.js';
import { lowerConfidenceBound, sampleUnderNoise } from '../engine/certify/smoothing.js';
import { certificationPoints } from '../engine/certify/stage.js';
import { classifierLogits } from '../engine/finetune/classifier.js';
import { openRunClassifier } from '../engine/open-run.js';
import { defaultRunsDir, runPlan } from '../engine/run-plan.js';
import { certifiedPlans } from '../experiments/certified.js';
import { binomialInterval } from '../experiments/paired-statistics.js';
import type { CertifyStage } from '../dsl/plan-types.js';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

const flag = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const pointsWanted = Number(flag('points', '200'));
/** Sample positions skipped first: --skip=200 --points=200 takes positions [200, 400), points a setting was not chosen on. */
const skip = Number(flag('skip', '0'));
const slugs = flag('models', 'mixture,cohen').split(',');
const runsDir = flag('runs', defaultRunsDir());
/** Shares of alpha the last look spends, compared on the same noise (the first is the one reported above the summary line). */
const shares = flag('final-shares', String(FINAL_SHARE)).split(',').map(Number);
/** Radii the sequential rule decides at (the issue's); accuracy is compared at each. */
const RADII = [0, 0.25, 0.5, 0.75, 1];
/** Draws per noise batch and per look of the sequential rule (looks at 100, 200, 400, ..., n). */
const step = 100;
process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';

interface Answer {
  radius: number | null;
  correct: boolean;
  passes: number;
}

async function main(): Promise<void> {
  const backend = await initBackend();
  console.log(`certify-sequential bench: backend ${backend.name}, ${pointsWanted} points per model and sigma (sample positions ${skip} to ${skip + pointsWanted - 1}), models ${slugs.join(', ')}`);
  let fixedPasses = 0;
  /** Per final share: passes, passes of the radius rule alone (every point estimated), worst accuracy difference, cells outside. */
  const totals = shares.map(() => ({ passes: 0, radiusRule: 0, maxDiff: 0, outside: 0 }));
  for (const { variant, plan } of certifiedPlans('full').filter((p) => slugs.includes(p.variant.slug))) {
    const runDir = join(runsDir, plan.hash);
    // The fine-tuned classifier: the full certified run's when it is there, else trained now (about 40 s a model).
    if (!existsSync(join(runDir, 'results.json'))) {
      console.log(`${variant.name}: no finished run at ${runDir}; training it through fine-tuning`);
      await runPlan(plan.toJSON(), { runsDir, through: 'finetune', quiet: true });
    }
    const cs = plan.data.stages.find((s) => s.kind === 'certify') as CertifyStage;
    const { classifier } = openRunClassifier(runDir, cs.task);
    const f = (batch: tf.Tensor) => classifierLogits(classifier, batch);
    const sample = certificationPoints(cs.task, plan.data.seed, Math.min(skip + pointsWanted, cs.points));
    const data = { ...sample, indices: sample.indices.subarray(skip) };
    const pointSize = data.inputShape.reduce((a, b) => a * b, 1);
    for (const sigma of cs.sigmas) {
      const started = performance.now();
      const fixed: Answer[] = [];
      const sequential: Answer[][] = shares.map(() => []);
      for (const index of data.indices) {
        const x = tf.tensor(data.inputs.subarray(index * pointSize, (index + 1) * pointSize), data.inputShape.slice(), 'float32');
        const sampling = { sigma, batchSize: step, numClasses: data.numClasses, seed: pointSeed(plan.hash, sigma, index) };
        const selection = sampleUnderNoise(f, x, { ...sampling, num: cs.n0, stream: 0 });
        const cA = selection.indexOf(Math.max(...selection));
        // cA's count in each batch of the estimation draws (stream 1 + b: batch b's own noise).
        const perBatch: number[] = [];
        for (let done = 0, b = 0; done < cs.n; done += step, b++) perBatch.push(sampleUnderNoise(f, x, { ...sampling, num: Math.min(step, cs.n - done), stream: 1 + b })[cA]!);
        x.dispose();
        const correct = cA === data.labels[index];
        const nA = perBatch.reduce((a, c) => a + c, 0);
        const lower = lowerConfidenceBound(nA, cs.n, cs.alpha);
        fixed.push({ radius: lower < 0.5 ? null : sigma * normalQuantile(lower, 0, 1), correct, passes: cs.n0 + cs.n });
        shares.forEach((finalShare, k) => {
          const s = sequentialCertify((from, to) => perBatch.slice(from / step, Math.ceil(to / step)).reduce((a, c) => a + c, 0), { sigma, n: cs.n, alpha: cs.alpha, radii: RADII, first: step, step, finalShare });
          sequential[k]!.push({ radius: correct ? s.radius : null, correct, passes: cs.n0 + (correct ? s.draws : 0) });
          totals[k]!.radiusRule += cs.n0 + s.draws;
        });
      }
      const acc = (answers: Answer[], r: number) => answers.filter((a) => a.correct && a.radius !== null && a.radius >= r).length;
      const passes = (answers: Answer[]) => answers.reduce((a, x) => a + x.passes, 0);
      fixedPasses += passes(fixed);
      const n = data.indices.length;
      const cellsOf = sequential.map((answers, k) =>
        RADII.map((r) => {
          const [kf, ks] = [acc(fixed, r), acc(answers, r)];
          const [lo, hi] = binomialInterval(kf, n);
          totals[k]!.maxDiff = Math.max(totals[k]!.maxDiff, Math.abs(((ks - kf) / n) * 100));
          if (ks / n < lo || ks / n > hi) totals[k]!.outside++;
          return `r=${r}: ${((kf / n) * 100).toFixed(1)} [${(lo * 100).toFixed(1)}, ${(hi * 100).toFixed(1)}] vs ${((ks / n) * 100).toFixed(1)}`;
        }),
      );
      sequential.forEach((answers, k) => (totals[k]!.passes += passes(answers)));
      console.log(
        `${variant.name}, sigma ${sigma}: passes ${passes(fixed)} fixed vs ${shares.map((share, k) => `${passes(sequential[k]!)} sequential (ratio ${(passes(fixed) / passes(sequential[k]!)).toFixed(2)}, final share ${share})`).join(', ')}, ` +
          `${((performance.now() - started) / 1000).toFixed(0)} s\n  certified accuracy % fixed [95% CI] vs sequential (final share ${shares[0]}): ${cellsOf[0]!.join('; ')}`,
      );
    }
  }
  shares.forEach((share, k) => {
    const t = totals[k]!;
    console.log(
      `final share ${share}: passes ratio ${(fixedPasses / t.passes).toFixed(2)} (radius rule alone, wrong selections estimated too: ${(fixedPasses / t.radiusRule).toFixed(2)}), ` +
        `max accuracy difference ${t.maxDiff.toFixed(1)} pts, ${t.outside} cell(s) outside the fixed-n interval`,
    );
  });
  const t = totals[0]!;
  console.log(`certify-sequential: passes ratio ${(fixedPasses / t.passes).toFixed(2)}, max accuracy difference ${t.maxDiff.toFixed(1)} pts${t.outside ? ` (${t.outside} cell(s) outside the fixed-n interval)` : ', every cell inside the fixed-n exact 95% interval'}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
