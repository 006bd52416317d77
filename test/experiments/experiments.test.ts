import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../engine/backend/selection.js';
import { certifiedRobustness, RADII } from '../../experiments/certified.js';

const runsDir = mkdtempSync(join(tmpdir(), 'rl-exp-runs-'));

describe('certified experiment at smoke scale (two models)', () => {
  beforeAll(async () => void (await initBackend()));

  it('certified: every model on the same points; accuracy never grows with r; exact intervals hold it; TSVs attached', async () => {
    const models = ['clean pre-training, clean fine-tuning', 'Cohen Gaussian augmentation 0.5'];
    const r = await certifiedRobustness({ scale: 'smoke', only: models, runsDir, quiet: true });
    const rows = r.tables['certified-accuracy']!.objects() as { model: string; sigma: number; radius: number; certifiedAccuracy: number; ci95_lo: number; ci95_hi: number }[];
    expect(rows).toHaveLength((3 + 1) * RADII.length);
    for (const [model, sigmas] of [[models[0]!, [0.25, 0.5, 1]], [models[1]!, [0.5]]] as const) {
      for (const sigma of sigmas) {
        const at = rows.filter((x) => x.model === model && x.sigma === sigma);
        at.slice(1).forEach((a, i) => expect(a.certifiedAccuracy).toBeLessThanOrEqual(at[i]!.certifiedAccuracy));
        for (const a of at) {
          expect(a.ci95_lo).toBeLessThanOrEqual(a.certifiedAccuracy);
          expect(a.ci95_hi).toBeGreaterThanOrEqual(a.certifiedAccuracy);
        }
      }
    }
    expect(r.tables['cost']!.numRows()).toBe(2);
    expect(r.verdict).toBeUndefined();
    expect(r.summary).toMatch(/needs the mixture model, clean pre-training and both per-sigma families/);
    expect(r.attachments!.map((a) => a.path)).toEqual(['points/clean-sigma-0.25.tsv', 'points/clean-sigma-0.5.tsv', 'points/clean-sigma-1.tsv', 'points/cohen-sigma-0.5.tsv']);
    // The same test points for every model, in the same order.
    const idx = (path: string) => r.attachments!.find((a) => a.path === path)!.content.trim().split('\n').slice(1).map((l) => l.split('\t')[0]);
    expect(idx('points/cohen-sigma-0.5.tsv')).toEqual(idx('points/clean-sigma-0.5.tsv'));
  });
});
