#!/usr/bin/env node
/**
 * Offline native TensorFlow backend (`tensorflow`, via @tensorflow/tfjs-node).
 *
 * Why: tfjs-node's own install script downloads libtensorflow from the internet; on a machine
 * without internet it fails, npm drops the optional dependency, and robustlab would run on wasm
 * (4-30x slower). This script, run as `postinstall` (and by `npm run setup:native`, which passes
 * `--force`), builds tfjs-node against the TensorFlow C library that any `tensorflow-cpu` Python
 * wheel carries, fetched with `python3 -m pip download` (which reaches the local package index or
 * PyPI, whatever pip is configured with). Everything lands in `.native/`, which `npm ci` does not
 * wipe, so a rebuild happens only when the cached build no longer loads.
 *
 * Guarantees:
 * - Where tfjs-node installed normally (a machine with internet), it does nothing.
 * - The binding is built with two additions: list attributes (see BINDING_LIST_ATTRIBUTES), so that
 *   TensorFlow's fused kernels can be called, and robustlab's own fused kernels
 *   (engine/backend/native/fused-kernels.cc, compiled into the binding, which registers them into TensorFlow).
 * - `.native/status.json` is written atomically on every build attempt: `{ ok: true, tfjsNodeDir,
 *   tfjsNodeVersion, tensorflowVersion, bindingPatch, listAttributes, fusedKernels, fusedKernelsHash,
 *   builtAt, seconds }` only after a child process has loaded
 *   the build, seen the project's own tfjs switch to the `tensorflow` backend, and checked a
 *   256x256 matMul against the `cpu` backend; otherwise `{ ok: false, reason }`.
 * - The built tfjs-node shares the project's tfjs-core instance: the tfjs packages npm puts in
 *   `.native/node_modules` are deleted, so Node's resolution from tfjs-node walks up to the
 *   project's `node_modules/@tensorflow/*`.
 * - It never fails an install: on failure it prints one line and exits 0 (exit 1 with `--force`).
 * - `ROBUSTLAB_SKIP_NATIVE=1` skips everything.
 *
 * Plain Node ESM with built-ins only: it runs before anything of the project is compiled.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NATIVE = path.join(ROOT, '.native');
const STATUS_FILE = path.join(NATIVE, 'status.json');
const LOG_FILE = path.join(NATIVE, 'setup.log');
const WHEEL_DIR = path.join(NATIVE, 'wheel');
const TFJS_NODE_REL = '.native/node_modules/@tensorflow/tfjs-node';
const TFJS_NODE_DIR = path.join(ROOT, TFJS_NODE_REL);
const FORCE = process.argv.includes('--force');

/** The TensorFlow wheel whose C library we build against (exists for CPython 3.10-3.13). */
const TENSORFLOW_WHEEL = 'tensorflow-cpu==2.21.0';

/** tfjs-node version: the one package.json names as optional dependency, so the two never drift. */
const TFJS_NODE_VERSION =
  JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).optionalDependencies?.[
    '@tensorflow/tfjs-node'
  ] ?? '4.22.0';

/**
 * Copies of the tfjs packages that npm installs beside tfjs-node. They must go: a second
 * tfjs-core would get the `tensorflow` backend while the project's tfjs-core never sees it.
 */
const DUPLICATE_TFJS_PACKAGES = [
  'tfjs',
  'tfjs-core',
  'tfjs-converter',
  'tfjs-data',
  'tfjs-layers',
  'tfjs-backend-cpu',
  'tfjs-backend-webgl',
];

/**
 * Wheel members the build needs: the two shared libraries, and the C API headers with what they
 * include (tensorflow/c -> tensorflow/core/platform, tsl, xla/tsl); 6 MB instead of the
 * wheel's 270 MB of headers.
 */
const WHEEL_LIBRARIES = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];
const WHEEL_HEADER_DIRS = ['tensorflow/c/', 'tensorflow/core/platform/', 'tsl/', 'xla/tsl/'];

/**
 * Outer-npm settings the inner `npm install` and node-gyp may keep: where packages come from and
 * how to reach it, and where Node's headers are. Everything else (`npm_config_prefix`,
 * `npm_config_global_prefix`, `npm_config_local_prefix`, lifecycle variables) would point the
 * inner npm at the project instead of `.native/`.
 */
const KEPT_NPM_CONFIG = new Set([
  'cache', 'userconfig', 'globalconfig', 'registry', 'cafile', 'ca', 'cert', 'key', 'strict_ssl',
  'proxy', 'https_proxy', 'http_proxy', 'noproxy', 'offline', 'prefer_offline', 'prefer_online',
  'fetch_retries', 'fetch_timeout', 'nodedir', 'node_gyp', 'python',
]);

/** Peak disk use of a build: the wheel (270 MB) beside the unpacked library and packages (850 MB). */
/**
 * Our one change to tfjs-node's C++ binding (binding/tfjs_backend.cc, AssignOpAttr): attributes that are
 * lists of strings or of types, which the stock binding rejects. TensorFlow's fused kernels need them
 * (_FusedConv2D: fused_ops = ['BiasAdd', 'Relu'], TArgs = [float]); engine/backend/native-ops.ts probes for it at
 * run time, so a binding without the change (tfjs-node installed normally) still works, unfused.
 * Bump BINDING_PATCH when the patch changes: a cached build made with another value is rebuilt.
 */
const BINDING_PATCH = 2;
const BINDING_LIST_ATTRIBUTES = [
  {
    anchor: '    case TF_ATTR_STRING: {\n',
    insert: `      if (IsArray(env, nstatus, &js_value)) {  // robustlab: list(string)
        uint32_t length;
        nstatus = napi_get_array_length(env, js_value, &length);
        ENSURE_NAPI_OK(env, nstatus);
        std::vector<std::string> strings(length);
        std::vector<const void *> values(length);
        std::vector<size_t> lengths(length);
        for (uint32_t i = 0; i < length; ++i) {
          napi_value element;
          nstatus = napi_get_element(env, js_value, i, &element);
          ENSURE_NAPI_OK(env, nstatus);
          nstatus = GetStringParam(env, element, strings[i]);
          ENSURE_NAPI_OK(env, nstatus);
          values[i] = strings[i].data();
          lengths[i] = strings[i].size();
        }
        TFE_OpSetAttrStringList(tfe_op, attr_name, values.data(), lengths.data(), static_cast<int>(length));
        break;
      }
`,
  },
  {
    anchor: '    case TF_ATTR_TYPE: {\n',
    insert: `      if (IsArray(env, nstatus, &js_value)) {  // robustlab: list(type)
        uint32_t length;
        nstatus = napi_get_array_length(env, js_value, &length);
        ENSURE_NAPI_OK(env, nstatus);
        std::vector<TF_DataType> types(length);
        for (uint32_t i = 0; i < length; ++i) {
          napi_value element;
          nstatus = napi_get_element(env, js_value, i, &element);
          ENSURE_NAPI_OK(env, nstatus);
          nstatus = napi_get_value_int32(env, element, reinterpret_cast<int32_t *>(&types[i]));
          ENSURE_NAPI_OK(env, nstatus);
        }
        TFE_OpSetAttrTypeList(tfe_op, attr_name, types.data(), static_cast<int>(length));
        break;
      }
`,
  },
];

/** Our kernels' source, and the binding.gyp change that compiles it into the binding. */
const FUSED_KERNELS_SOURCE = path.join(ROOT, 'engine', 'backend', 'native', 'fused-kernels.cc');
const GYP_SOURCES_ANCHOR = "      'binding/tfjs_binding.cc'\n    ],\n";
// Flags: see the head of engine/backend/native/fused-kernels.cc (vectorisation, and no FMA contraction).
const GYP_SOURCES_PATCHED =
  "      'binding/tfjs_binding.cc',\n      'binding/robustlab_fused_kernels.cc'\n    ],\n" +
  "    'cflags_cc': ['-fopenmp-simd', '-fno-trapping-math', '-fno-math-errno', '-ffp-contract=off'],\n";

/** Hash of the kernels' source: a cached build made from another version is rebuilt. */
function fusedKernelsHash() {
  return createHash('sha256').update(fs.readFileSync(FUSED_KERNELS_SOURCE)).digest('hex').slice(0, 16);
}

/** Adds engine/backend/native/fused-kernels.cc to the binding's sources; returns false (untouched) if binding.gyp does not fit. */
function addFusedKernels() {
  const gyp = path.join(TFJS_NODE_DIR, 'binding.gyp');
  const source = fs.readFileSync(gyp, 'utf8');
  if (source.split(GYP_SOURCES_ANCHOR).length !== 2) return false;
  fs.copyFileSync(FUSED_KERNELS_SOURCE, path.join(TFJS_NODE_DIR, 'binding', 'robustlab_fused_kernels.cc'));
  fs.writeFileSync(gyp, source.replace(GYP_SOURCES_ANCHOR, GYP_SOURCES_PATCHED));
  return true;
}

/** Applies BINDING_LIST_ATTRIBUTES to the binding source; returns false (source untouched) if it does not fit. */
function patchBinding() {
  const file = path.join(TFJS_NODE_DIR, 'binding', 'tfjs_backend.cc');
  let source = fs.readFileSync(file, 'utf8');
  for (const { anchor, insert } of BINDING_LIST_ATTRIBUTES) {
    if (source.split(anchor).length !== 2) return false;
    source = source.replace(anchor, anchor + insert);
  }
  fs.writeFileSync(file, source);
  return true;
}

const NEEDED_DISK_MB = 1200;

/** Child-process limits: an offline registry or index must fail, not hang an install. */
const MINUTE_MS = 60_000;

/** A failure whose message is the one-line reason shown to the user. */
class SetupFailure extends Error {}

let logFd = null;

function log(text) {
  if (logFd !== null) fs.writeSync(logFd, text.endsWith('\n') ? text : `${text}\n`);
}

function say(text) {
  console.log(`robustlab native: ${text}`);
  log(`robustlab native: ${text}`);
}

function seconds(sinceMs) {
  return ((Date.now() - sinceMs) / 1000).toFixed(1);
}

/** The environment for every child: the outer npm's settings removed, except KEPT_NPM_CONFIG. */
function childEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if (lower.startsWith('npm_config_')) {
      if (KEPT_NPM_CONFIG.has(lower.slice('npm_config_'.length)) && value !== '') env[key] = value;
    } else if (!lower.startsWith('npm_') && key !== 'INIT_CWD') {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}

/**
 * Runs a command; its output goes to the log. Resolves with stdout+stderr; rejects with a
 * SetupFailure naming the step and the last meaningful output line.
 */
function run(step, command, args, { cwd = ROOT, env = childEnv(), timeoutMs = 10 * MINUTE_MS } = {}) {
  log(`$ ${[command, ...args].join(' ')}   (cwd ${cwd})`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let output = '';
    const take = (chunk) => {
      const text = chunk.toString();
      output += text;
      if (logFd !== null) fs.writeSync(logFd, text);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (error) => reject(new SetupFailure(`${step}: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(output);
      const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
      const telling = lines.filter((l) => /error|fatal|not found|no matching|could not|enotfound|eai_again/i.test(l));
      const detail = (telling.at(-1) ?? lines.at(-1) ?? '').slice(0, 160);
      const how = signal ? `killed by ${signal}${signal === 'SIGTERM' ? ' (time limit)' : ''}` : `exit ${code}`;
      reject(new SetupFailure(`${step} failed (${how})${detail ? `: ${detail}` : ''}`));
    });
  });
}

/**
 * Loads tfjs-node in a fresh process and checks it really computes: the project's own
 * `@tensorflow/tfjs` must report the `tensorflow` backend, and a 256x256 matMul must equal the
 * `cpu` backend's within 1e-3. Resolves with `{ tensorflowVersion, maxAbsDiff }`.
 */
async function probe(tfjsNodeSpecifier) {
  const script = `
    const { createRequire } = require('node:module');
    const projectRequire = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))});
    const tfnode = projectRequire(${JSON.stringify(tfjsNodeSpecifier)});
    const tf = projectRequire('@tensorflow/tfjs');
    (async () => {
      await tf.ready();
      const backend = tf.getBackend();
      if (backend !== 'tensorflow') throw new Error('project tfjs backend is ' + backend + ', not tensorflow');
      const a = tf.randomUniform([256, 256], -1, 1, 'float32', 1);
      const b = tf.randomUniform([256, 256], -1, 1, 'float32', 2);
      const av = a.dataSync(), bv = b.dataSync();
      const native = tf.matMul(a, b).dataSync();
      const tensorflowVersion = tf.backend().binding.TF_Version;
      await tf.setBackend('cpu');
      const reference = tf.matMul(tf.tensor2d(av, [256, 256]), tf.tensor2d(bv, [256, 256])).dataSync();
      let maxAbsDiff = 0;
      for (let i = 0; i < reference.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(native[i] - reference[i]));
      if (!(maxAbsDiff <= 1e-3)) throw new Error('tensorflow matMul differs from cpu by ' + maxAbsDiff);
      console.log('ROBUSTLAB_PROBE ' + JSON.stringify({ tensorflowVersion, maxAbsDiff, tfjsNode: tfnode.version['tfjs-node'] }));
    })().catch((e) => { console.error(String(e && e.message || e)); process.exit(1); });
  `;
  const output = await run('loading tfjs-node', process.execPath, ['-e', script], { timeoutMs: 2 * MINUTE_MS });
  const line = output.split('\n').find((l) => l.startsWith('ROBUSTLAB_PROBE '));
  if (!line) throw new SetupFailure('loading tfjs-node: the check printed no result');
  return JSON.parse(line.slice('ROBUSTLAB_PROBE '.length));
}

function readStatus() {
  try {
    return JSON.parse(fs.readFileSync(STATUS_FILE, 'utf8'));
  } catch {
    return null;
  }
}

function writeStatus(status) {
  fs.mkdirSync(NATIVE, { recursive: true });
  const tmp = `${STATUS_FILE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(status, null, 2)}\n`);
  fs.renameSync(tmp, STATUS_FILE);
}

/** Bytes under a directory, following no symlinks. */
function diskUsage(dir) {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += diskUsage(full);
    else if (entry.isFile()) total += fs.statSync(full).size;
  }
  return total;
}

/** How npm is started: the npm that runs this postinstall, else `npm` on PATH. */
function npmCommand() {
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.js$/.test(execpath) && fs.existsSync(execpath)) return [process.execPath, [execpath]];
  return ['npm', []];
}

/** Node's headers for node-gyp, found locally so that it never downloads them. */
function nodeHeadersDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  for (const dir of [path.dirname(path.dirname(process.execPath)), '/usr']) {
    if (fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return undefined;
}

async function step(label, work) {
  const started = Date.now();
  const result = await work();
  say(`${label} (${seconds(started)} s)`);
  return result;
}

/** Step 4 of the brief: the full offline build into .native/. */
async function build() {
  const started = Date.now();
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new SetupFailure(`the offline build supports linux x64 only, not ${process.platform} ${process.arch}`);
  }
  try {
    createRequire(path.join(ROOT, 'package.json')).resolve('@tensorflow/tfjs');
  } catch {
    throw new SetupFailure('@tensorflow/tfjs is not installed in the project');
  }
  const nodedir = nodeHeadersDir();
  if (!nodedir) throw new SetupFailure("Node's C headers (include/node/node_api.h) not found; set npm_config_nodedir");

  fs.rmSync(path.join(NATIVE, 'node_modules'), { recursive: true, force: true });
  const { bavail, bsize } = fs.statfsSync(NATIVE);
  const freeMegabytes = Math.floor((bavail * bsize) / 2 ** 20);
  if (freeMegabytes < NEEDED_DISK_MB) {
    throw new SetupFailure(`not enough disk space: the build needs ${NEEDED_DISK_MB} MB free in .native/, there are ${freeMegabytes} MB`);
  }
  fs.rmSync(path.join(NATIVE, 'package-lock.json'), { force: true });
  fs.writeFileSync(
    path.join(NATIVE, 'package.json'),
    `${JSON.stringify({ name: 'robustlab-native', private: true, description: 'Built by scripts/setup-native.mjs; safe to delete.' }, null, 2)}\n`,
  );

  await step(`installed @tensorflow/tfjs-node@${TFJS_NODE_VERSION} without scripts`, async () => {
    const [npm, npmArgs] = npmCommand();
    await run('npm install @tensorflow/tfjs-node', npm, [
      ...npmArgs, 'install', '--prefix', NATIVE, '--ignore-scripts', '--no-audit', '--no-fund',
      '--no-save', '--loglevel=warn', `@tensorflow/tfjs-node@${TFJS_NODE_VERSION}`,
    ], { cwd: NATIVE });
    for (const scope of [path.join(NATIVE, 'node_modules/@tensorflow'), path.join(TFJS_NODE_DIR, 'node_modules/@tensorflow')]) {
      for (const name of DUPLICATE_TFJS_PACKAGES) fs.rmSync(path.join(scope, name), { recursive: true, force: true });
    }
  });

  fs.rmSync(WHEEL_DIR, { recursive: true, force: true });
  const wheel = await step(`downloaded the ${TENSORFLOW_WHEEL} wheel with pip`, async () => {
    // One retry, not pip's five: where pip's index list includes an unreachable PyPI beside a local
    // index, five back-off retries cost ~11 s for nothing.
    await run('pip download ' + TENSORFLOW_WHEEL, 'python3', [
      '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check',
      '--progress-bar', 'off', '--retries', '1', TENSORFLOW_WHEEL, '-d', WHEEL_DIR,
    ]);
    const found = fs.readdirSync(WHEEL_DIR).find((f) => f.endsWith('.whl'));
    if (!found) throw new SetupFailure('pip download produced no wheel');
    return path.join(WHEEL_DIR, found);
  });

  const deps = path.join(TFJS_NODE_DIR, 'deps');
  await step('extracted libtensorflow and the C API headers', async () => {
    fs.rmSync(deps, { recursive: true, force: true });
    const extract = `
import os, shutil, sys, zipfile
wheel, deps, libs, header_dirs = sys.argv[1], sys.argv[2], sys.argv[3].split(','), sys.argv[4].split(',')
os.makedirs(os.path.join(deps, 'lib'))
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    for lib in libs:
        member = 'tensorflow/' + lib
        if member not in names: sys.exit('wheel has no ' + member)
        with z.open(member) as src, open(os.path.join(deps, 'lib', lib), 'wb') as dst: shutil.copyfileobj(src, dst, 1 << 22)
    count = 0
    for info in z.infolist():
        name = info.filename
        if info.is_dir() or '..' in name.split('/'): continue
        rel = name[len('tensorflow/include/'):] if name.startswith('tensorflow/include/') else None
        if rel is None or not any(rel.startswith(d) for d in header_dirs): continue
        out = os.path.join(deps, 'include', rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(info) as src, open(out, 'wb') as dst: shutil.copyfileobj(src, dst)
        count += 1
    if count == 0: sys.exit('wheel has no C API headers under tensorflow/include')
    print(count, 'headers')
`;
    await run('extracting the wheel', 'python3', ['-c', extract, wheel, deps, WHEEL_LIBRARIES.join(','), WHEEL_HEADER_DIRS.join(',')]);
    // binding.gyp links -ltensorflow -ltensorflow_framework; the binding's rpath ($ORIGIN/../../deps/lib)
    // then finds the real sonames, and libtensorflow_cc's own $ORIGIN runpath finds the framework.
    fs.symlinkSync('libtensorflow_cc.so.2', path.join(deps, 'lib/libtensorflow.so'));
    fs.symlinkSync('libtensorflow_framework.so.2', path.join(deps, 'lib/libtensorflow_framework.so'));
  });
  fs.rmSync(WHEEL_DIR, { recursive: true, force: true });

  const patched = await step('added list attributes to the binding (for fused kernels)', async () => {
    const ok = patchBinding();
    if (!ok) log('binding source did not match the patch; building it unchanged (fused kernels stay off)');
    return ok;
  });
  const withKernels = await step("added robustlab's fused kernels to the binding", async () => {
    const ok = addFusedKernels();
    if (!ok) log('binding.gyp did not match; building without our fused kernels (the engine uses tfjs ops)');
    return ok;
  });

  // node-pre-gyp's --build-from-source is what tfjs-node's install.js ends in, minus its attempt to
  // download a prebuilt addon (pointless offline, and slow where DNS hangs). JOBS=max lets node-gyp
  // compile the binding's two sources in parallel.
  await step('compiled the tfjs-node binding', async () => {
    await run('compiling the tfjs-node binding (node-gyp)', process.execPath, [
      path.join(NATIVE, 'node_modules/@mapbox/node-pre-gyp/bin/node-pre-gyp'), 'install', '--build-from-source',
    ], { cwd: TFJS_NODE_DIR, env: childEnv({ npm_config_nodedir: nodedir, JOBS: process.env.JOBS ?? 'max' }) });
  });

  const probed = await step('checked it: backend tensorflow, matMul equals cpu', () => probe(TFJS_NODE_DIR));
  const status = {
    ok: true,
    tfjsNodeDir: TFJS_NODE_REL,
    tfjsNodeVersion: TFJS_NODE_VERSION,
    tensorflowVersion: probed.tensorflowVersion,
    bindingPatch: BINDING_PATCH,
    listAttributes: patched,
    fusedKernels: withKernels,
    fusedKernelsHash: withKernels ? fusedKernelsHash() : null,
    builtAt: new Date().toISOString(),
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  writeStatus(status);
  const megabytes = Math.round(diskUsage(NATIVE) / 2 ** 20);
  say(`built: TensorFlow ${status.tensorflowVersion} in ${status.seconds} s, .native/ holds ${megabytes} MB`);
}

/** Step 2: tfjs-node installed the normal way (a machine with internet). */
async function installedNormally() {
  try {
    createRequire(path.join(ROOT, 'package.json')).resolve('@tensorflow/tfjs-node');
  } catch {
    return false;
  }
  try {
    await probe('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

/** Step 3: an earlier build that still loads. */
async function cachedBuildWorks() {
  const status = readStatus();
  if (!status?.ok || status.tfjsNodeVersion !== TFJS_NODE_VERSION || status.bindingPatch !== BINDING_PATCH) return null;
  if (status.fusedKernels && status.fusedKernelsHash !== fusedKernelsHash()) return null;
  try {
    await probe(path.join(ROOT, status.tfjsNodeDir));
    return status;
  } catch {
    return null;
  }
}

async function main() {
  if (process.env.ROBUSTLAB_SKIP_NATIVE === '1') {
    console.log('robustlab native: skipped (ROBUSTLAB_SKIP_NATIVE=1); robustlab will use tfjs-node if installed, else wasm.');
    return 0;
  }
  if (await installedNormally()) {
    console.log('robustlab native: native backend: tfjs-node (installed normally)');
    return 0;
  }
  if (!FORCE) {
    const cached = await cachedBuildWorks();
    if (cached) {
      console.log(`robustlab native: native backend: tfjs-node built offline against TensorFlow ${cached.tensorflowVersion} (cached in .native/)`);
      return 0;
    }
  }

  fs.mkdirSync(NATIVE, { recursive: true });
  logFd = fs.openSync(LOG_FILE, 'w');
  log(`robustlab setup-native, ${new Date().toISOString()}, node ${process.version}, force=${FORCE}`);
  say(`building the native TensorFlow backend offline into .native/ (about a minute; log: .native/setup.log)`);
  try {
    await build();
    return 0;
  } catch (error) {
    const reason = error instanceof SetupFailure ? error.message : `unexpected error: ${error?.stack ?? error}`;
    log(`FAILED: ${reason}`);
    writeStatus({ ok: false, reason: reason.split('\n')[0], failedAt: new Date().toISOString() });
    fs.rmSync(WHEEL_DIR, { recursive: true, force: true });
    console.log(
      `robustlab: native TensorFlow backend not built (${reason.split('\n')[0]}); robustlab will run on wasm. ` +
        'Details: .native/setup.log. Retry: npm run setup:native',
    );
    return FORCE ? 1 : 0;
  } finally {
    fs.closeSync(logFd);
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  // Even a failure outside the build (a read-only project folder, a full disk) must not fail `npm install`.
  console.log(
    `robustlab: native TensorFlow backend not built (unexpected error: ${String(error?.message ?? error).split('\n')[0]}); ` +
      'robustlab will run on wasm. Retry: npm run setup:native',
  );
  process.exitCode = FORCE ? 1 : 0;
}
