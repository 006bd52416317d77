/**
 * The offline native backend build (scripts/setup-native.mjs, run by `postinstall`).
 *
 * `npm ci` on a machine like ours runs the build, so `.native/status.json` exists; where it says
 * ok, the built tfjs-node must really drive the project's own tfjs. Every check runs in a child
 * process: loading a native addon into the test worker would change its backend for good.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const STATUS_FILE = path.join(ROOT, '.native/status.json');
const SCRIPT = path.join(ROOT, 'scripts/setup-native.mjs');

interface NativeStatus {
  ok: boolean;
  reason?: string;
  tfjsNodeDir?: string;
  tensorflowVersion?: string;
}

function readStatus(): NativeStatus | null {
  return fs.existsSync(STATUS_FILE) ? (JSON.parse(fs.readFileSync(STATUS_FILE, 'utf8')) as NativeStatus) : null;
}

function tfjsNodeInstalledNormally(): boolean {
  try {
    createRequire(path.join(ROOT, 'package.json')).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

/** Requires tfjs-node, then reports what the project's own `@tensorflow/tfjs` sees. */
function probe(tfjsNode: string): { backend: string; tensorflowVersion: string; maxAbsDiff: number } {
  const script = `
    const { createRequire } = require('node:module');
    const projectRequire = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))});
    projectRequire(${JSON.stringify(tfjsNode)});
    const tf = projectRequire('@tensorflow/tfjs');
    (async () => {
      await tf.ready();
      const backend = tf.getBackend();
      const tensorflowVersion = tf.backend().binding.TF_Version;
      const a = tf.randomUniform([256, 256], -1, 1, 'float32', 7);
      const b = tf.randomUniform([256, 256], -1, 1, 'float32', 8);
      const av = a.dataSync(), bv = b.dataSync();
      const native = tf.matMul(a, b).dataSync();
      await tf.setBackend('cpu');
      const reference = tf.matMul(tf.tensor2d(av, [256, 256]), tf.tensor2d(bv, [256, 256])).dataSync();
      let maxAbsDiff = 0;
      for (let i = 0; i < reference.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(native[i] - reference[i]));
      console.log('PROBE ' + JSON.stringify({ backend, tensorflowVersion, maxAbsDiff }));
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const child = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(child.status, child.stderr).toBe(0);
  const line = child.stdout.split('\n').find((l) => l.startsWith('PROBE '));
  expect(line, child.stdout).toBeDefined();
  return JSON.parse(line!.slice('PROBE '.length));
}

describe('setup-native', () => {
  it('ROBUSTLAB_SKIP_NATIVE=1 exits 0 with one line and leaves .native/ alone', () => {
    const before = fs.existsSync(STATUS_FILE) ? fs.statSync(STATUS_FILE).mtimeMs : null;
    const child = spawnSync(process.execPath, [SCRIPT], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ROBUSTLAB_SKIP_NATIVE: '1' },
      timeout: 30_000,
    });
    expect(child.status).toBe(0);
    const lines = child.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/skipped \(ROBUSTLAB_SKIP_NATIVE=1\)/);
    expect(fs.existsSync(STATUS_FILE) ? fs.statSync(STATUS_FILE).mtimeMs : null).toBe(before);
  });

  // An explicit opt-out at install time is the one case where there is nothing to check.
  it.skipIf(process.env.ROBUSTLAB_SKIP_NATIVE === '1')(
    'the install left a native backend that drives the project tfjs, or says why not',
    () => {
      const status = readStatus();
      if (status === null) {
        // No offline build: only right where tfjs-node installed the normal way.
        expect(tfjsNodeInstalledNormally(), 'no .native/status.json and no tfjs-node: run npm run setup:native').toBe(true);
        const probed = probe('@tensorflow/tfjs-node');
        expect(probed.backend).toBe('tensorflow');
        expect(probed.maxAbsDiff).toBeLessThan(1e-3);
        return;
      }
      if (!status.ok) {
        expect(typeof status.reason).toBe('string');
        expect(status.reason!.length).toBeGreaterThan(0);
        return;
      }
      const tfjsNodeDir = path.join(ROOT, status.tfjsNodeDir!);
      // The built tfjs-node must share the project's tfjs-core, so no copy of it may sit beside it.
      expect(fs.readdirSync(path.join(tfjsNodeDir, '..'))).toEqual(['tfjs-node']);
      const probed = probe(tfjsNodeDir);
      expect(probed.backend).toBe('tensorflow');
      expect(probed.tensorflowVersion).toBe(status.tensorflowVersion);
      expect(probed.maxAbsDiff).toBeLessThan(1e-3);
    },
  );
});
