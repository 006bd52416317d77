import { afterEach, describe, expect, it } from 'vitest';
import { DslError, Plan, fromJSON, pretrain, registerPlanRunner, type PlanData, type RunResult } from '../../dsl/index.js';
import { MINIMAX_DEFAULTS } from '../../dsl/defaults.js';

const full = pretrain().splitTasks(4).minimax(1).noise([0.25, 0.5, 1]).finetune(['fashion-all', 'fashion-tops']).evaluate().certify();

describe('compile(): stages', () => {
  it('orders the stages load-data, split-tasks, pretrain, finetune, evaluate, certify and resolves every value', () => {
    const plan = full.compile({ target: 'cpu' });
    expect(plan.stages.map((s) => s.kind)).toEqual(['load-data', 'split-tasks', 'pretrain', 'finetune', 'evaluate', 'certify']);
    expect(pretrain().compile({ target: 'cpu' }).stages.map((s) => s.kind)).toEqual(['load-data', 'split-tasks', 'pretrain']);
    expect(plan.data.dtype).toBe('float32');
    expect(plan.data.seed).toBe(0);
    expect(plan.data.backend).toBe('auto');
    expect(plan.stage('load-data')).toMatchObject({ dataset: 'fashionMnist', downstream: ['fashion-all', 'fashion-tops'] });
    expect(plan.stage('pretrain')).toMatchObject({ steps: 300, batchSize: 64, lr: 1e-3, optimizer: 'adam', weighting: { method: 'softmax', eta: 1, ema: MINIMAX_DEFAULTS.ema, losses: MINIMAX_DEFAULTS.losses }, checkpointEvery: 30 });
    expect(plan.stage('evaluate')).toMatchObject({ tasks: ['fashion-all', 'fashion-tops'], batchSize: 512 });
    expect(plan.stage('certify')).toMatchObject({ task: 'fashion-all', n0: 100, n: 1000, batchSize: 1000, noiseOnDevice: true });
    expect(Object.isFrozen(plan.data.stages[2])).toBe(true);
  });

  it('the split-tasks stage says what the tasks are', () => {
    const split = (p: { compile(o?: object): Plan }) => p.compile({ target: 'cpu' }).stage('split-tasks')!;
    expect(split(pretrain())).toMatchObject({ k: 1, by: 'none', sigmas: [], mixtureWeights: [1] });
    expect(split(pretrain().noise([0.5, 1]))).toMatchObject({ k: 1, by: 'none', sigmas: [0.5, 1] });
    expect(split(pretrain().noise([0.25, 0.5, 1]).minimax(2))).toMatchObject({ k: 4, by: 'noise', sigmas: [0.25, 0.5, 1], mixtureWeights: [0.25, 0.25, 0.25, 0.25] });
    expect(split(pretrain().noise([0.5]).splitTasks(2, { by: 'noise' }))).toMatchObject({ k: 2, by: 'noise' });
    expect(split(pretrain().splitTasks(5).noise([0.5]))).toMatchObject({ k: 5, by: 'label', sigmas: [0.5] });
    expect(split(pretrain({ dataset: 'brown' }).splitTasks(5))).toMatchObject({ k: 5, by: 'pos', sigmas: [] });
  });

  it('minimax(0) and no minimax both weight tasks by their average', () => {
    const weighting = (p: { compile(o?: object): Plan }) => p.compile({ target: 'cpu' }).stage('pretrain')!.weighting;
    const average = { method: 'average', eta: 0, ema: 0, losses: 'raw' };
    expect(weighting(pretrain().splitTasks(3))).toEqual(average);
    expect(weighting(pretrain().splitTasks(3).minimax(0))).toEqual(average);
    expect(weighting(pretrain().splitTasks(3).minimax(0, { method: 'group-dro', ema: 0.5, losses: 'excess' }))).toEqual(average);
    expect(weighting(pretrain().splitTasks(3).minimax(3, { method: 'group-dro', ema: 0, losses: 'raw' }))).toEqual({ method: 'group-dro', eta: 3, ema: 0, losses: 'raw' });
  });
});

describe('compile(): estimates', () => {
  it('counts the parameters of the default conv and transformer models', () => {
    // conv 28x28: enc 1->32 s2 (320), 32->32 (9,248), 32->64 s2 (18,496), 64->64 (36,928);
    // dec 64->32 T (18,464), 32->32 (9,248), 32->32 T (9,248), 32->32 (9,248), 32->1 (289)
    expect(pretrain().compile({ target: 'cpu' }).stage('pretrain')!.parameters).toBe(111_489);
    // transformer d 64, L 2, T 32, V 8000: Vd + Td + L(12d^2 + 13d) + 2d + V
    expect(pretrain({ dataset: 'brown' }).compile({ target: 'cpu' }).stage('pretrain')!.parameters).toBe(8000 * 64 + 32 * 64 + 2 * (12 * 64 * 64 + 13 * 64) + 128 + 8000);
  });

  it('transformer pre-training FLOPs follow the 6 * parameters * tokens rule within 25%', () => {
    const plan = pretrain({ dataset: 'brown', width: 128, depth: 4 }).splitTasks(5).compile({ target: 'cpu' });
    const s = plan.stage('pretrain')!;
    const tokens = s.steps * 5 * s.batchSize * 32;
    const ratio = s.estimate.flops / (6 * s.parameters * tokens);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.25);
  });

  it('grow monotonically with steps, batch, k, width, depth and draws', () => {
    const pre = (o: object, k = 2) => pretrain(o).splitTasks(k).compile({ target: 'cpu' }).stage('pretrain')!.estimate;
    const base = pre({});
    expect(pre({ steps: 600 }).flops).toBeCloseTo(2 * base.flops, -3);
    for (const bigger of [pre({ batchSize: 128 }), pre({}, 4), pre({ width: 64 }), pre({ depth: 3 })]) {
      expect(bigger.flops).toBeGreaterThan(base.flops);
      expect(bigger.peakBytes).toBeGreaterThan(base.peakBytes);
    }
    const cert = (n: number) => pretrain().finetune('fashion-all').certify({ n }).compile({ target: 'cpu' }).stage('certify')!.estimate.flops;
    expect(cert(2000)).toBeGreaterThan(cert(1000));
    expect(full.compile({ target: 'cpu' }).data.totals.flops).toBeCloseTo(
      full.compile({ target: 'cpu' }).stages.reduce((a, s) => a + s.estimate.flops, 0),
      -3,
    );
  });
});

describe('compile(): targets and memory', () => {
  const saved = process.env.ROBUSTLAB_TARGET;
  afterEach(() => {
    if (saved === undefined) delete process.env.ROBUSTLAB_TARGET;
    else process.env.ROBUSTLAB_TARGET = saved;
  });

  it("'auto' is cpu unless ROBUSTLAB_TARGET=gpu", () => {
    delete process.env.ROBUSTLAB_TARGET;
    expect(pretrain().compile().target).toBe('cpu');
    process.env.ROBUSTLAB_TARGET = 'gpu';
    expect(pretrain().compile({ target: 'auto' }).target).toBe('gpu');
    expect(pretrain().compile({ target: 'cpu' }).target).toBe('cpu');
    process.env.ROBUSTLAB_TARGET = 'tpu';
    expect(() => pretrain().compile()).toThrow("ROBUSTLAB_TARGET must be one of 'gpu', 'cpu', got 'tpu'");
  });

  it('the gpu target makes GPU choices: larger batches, 80 GB budget', () => {
    const gpu = full.certify({ n: 100_000 }).compile({ target: 'gpu' });
    const cpu = full.certify({ n: 100_000 }).compile({ target: 'cpu' });
    expect(gpu.data.memoryBudgetBytes).toBe(80e9);
    expect(cpu.data.memoryBudgetBytes).toBe(16 * 2 ** 30);
    expect(gpu.stage('certify')!.batchSize).toBe(10_000);
    expect(cpu.stage('certify')!.batchSize).toBe(1000);
    expect(gpu.stage('evaluate')!.batchSize).toBe(4096);
    expect(cpu.stage('evaluate')!.batchSize).toBe(512);
    // never more noisy copies per pass than draws
    expect(full.certify({ n0: 10, n: 300 }).compile({ target: 'gpu' }).stage('certify')!.batchSize).toBe(300);
  });

  it('shrinks certification and evaluation batches to fit a tight budget', () => {
    const roomy = full.certify({ n: 100_000 }).compile({ target: 'gpu' });
    const others = Math.max(...roomy.stages.filter((s) => s.kind !== 'certify' && s.kind !== 'evaluate').map((s) => s.estimate.peakBytes));
    const budget = others * 1.01;
    expect(roomy.stage('certify')!.estimate.peakBytes).toBeGreaterThan(budget);
    const tight = full.certify({ n: 100_000 }).compile({ target: 'gpu', memoryBudget: budget });
    expect(tight.stage('certify')!.batchSize).toBeLessThan(10_000);
    expect(tight.stage('certify')!.batchSize).toBeGreaterThan(0);
    expect(tight.stage('certify')!.estimate.peakBytes).toBeLessThanOrEqual(budget);
    expect(tight.data.totals.peakBytes).toBeLessThanOrEqual(budget);

    const text = pretrain({ dataset: 'brown' }).finetune('imdb-sentiment').evaluate();
    expect(text.compile({ target: 'gpu' }).stage('evaluate')!.estimate.peakBytes).toBeGreaterThan(200e6);
    const evaluate = text.compile({ target: 'gpu', memoryBudget: 200e6 }).stage('evaluate')!;
    expect(evaluate.batchSize).toBeLessThan(4096);
    expect(evaluate.estimate.peakBytes).toBeLessThanOrEqual(200e6);
  });

  it('refuses a plan whose estimated peak memory exceeds the budget, without a GPU', () => {
    const huge = pretrain({ width: 1024, depth: 3, batchSize: 4096 }).splitTasks(10);
    expect(() => huge.compile({ target: 'gpu' })).toThrow(DslError);
    expect(() => huge.compile({ target: 'gpu' })).toThrow(
      /^compile\(\{ target: 'gpu' \}\): the estimated peak memory of stage 'pretrain' must be <= the memory budget 80\.0 GB, got [\d.]+ TB \(hint: lower pretrain batchSize \(4096 per task\), width \(1024\) or depth \(3\), or raise memoryBudget\)$/,
    );
    expect(() => pretrain().compile({ target: 'cpu', memoryBudget: 1e6 })).toThrow("the estimated peak memory of stage 'load-data' must be <= the memory budget 1.0 MB");
    // the same pipeline fits once the budget is large enough
    const need = pretrain().compile({ target: 'cpu' }).data.totals.peakBytes;
    expect(pretrain().compile({ target: 'cpu', memoryBudget: need }).data.totals.peakBytes).toBe(need);
  });

  it('refuses k larger than the data set can supply', () => {
    expect(() => pretrain().splitTasks(11).compile()).toThrow(
      "splitTasks(k): k must be an integer <= 10, the label groups 'fashionMnist' can supply, got 11 (hint: lower k, or split by 'cluster' (up to 64))",
    );
    expect(pretrain().splitTasks(64, { by: 'cluster' }).compile().stage('split-tasks')!.k).toBe(64);
    expect(() => pretrain().splitTasks(65, { by: 'cluster' }).compile()).toThrow('got 65');
    expect(() => pretrain({ dataset: 'brown' }).splitTasks(6).compile()).toThrow("splitTasks(k): k must be an integer <= 5, the pos groups 'brown' can supply, got 6 (hint: lower k)");
    const sixteen = Array.from({ length: 16 }, (_, i) => (i + 1) / 4);
    expect(() => pretrain().noise(sixteen).minimax(1).compile()).toThrow("noise(sigmas): k (clean + one task per sigma) must be an integer <= 16, the noise groups 'fashionMnist' can supply, got 17 (hint: use at most 15 sigmas)");
  });
});

describe('plan hash', () => {
  it('is stable: same spec and target give the same 16-hex hash, whatever the key order', () => {
    const a = pretrain().splitTasks(4).minimax(1).compile({ target: 'cpu' });
    const b = pretrain().splitTasks(4).minimax(1).compile({ target: 'cpu' });
    expect(a.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(a.hash).toBe(b.hash);
    const spec = JSON.parse(JSON.stringify(a.data.spec)) as Record<string, unknown>;
    const reversed = Object.fromEntries(Object.entries(spec).reverse());
    expect(fromJSON(reversed).compile({ target: 'cpu' }).hash).toBe(a.hash);
    // pinned: a change here means every saved run directory is renamed
    expect(a.hash).toBe('8885201491a5074a');
  });

  it('changes with any change to the spec, target, backend or budget', () => {
    const base = pretrain().splitTasks(4).minimax(1).finetune('fashion-all');
    const hashes = [
      base.compile({ target: 'cpu' }),
      base.compile({ target: 'gpu' }),
      base.compile({ target: 'cpu', backend: 'wasm' }),
      base.compile({ target: 'cpu', memoryBudget: 8e9 }),
      base.minimax(1.5).compile({ target: 'cpu' }),
      base.minimax(1, { ema: 0.1 }).compile({ target: 'cpu' }),
      base.splitTasks(5).compile({ target: 'cpu' }),
      base.finetune('fashion-tops').compile({ target: 'cpu' }),
      base.noise([0.5]).compile({ target: 'cpu' }),
      pretrain({ seed: 1 }).splitTasks(4).minimax(1).finetune('fashion-all').compile({ target: 'cpu' }),
    ].map((p) => p.hash);
    expect(new Set(hashes).size).toBe(hashes.length);
  });
});

describe('explain()', () => {
  it('shows the header and every stage with its estimates', () => {
    const plan = full.compile({ target: 'gpu' });
    const text = plan.explain();
    const lines = text.split('\n');
    expect(lines[0]).toBe(`Plan ${plan.hash}  target gpu  backend auto  float32  memory budget 80.0 GB`);
    expect(lines[1]).toContain('masked-image-conv width 32 depth 2  111,489 parameters  seed 0');
    expect(lines[2]).toMatch(/^Total [\d,.]+ GFLOP {2}peak [\d.]+ MB \(stage \w[\w-]*\)$/);
    expect(text).toContain('stage        parameters');
    for (const s of plan.stages) {
      const row = lines.find((l) => l.startsWith(`${s.kind} `));
      expect(row, s.kind).toBeDefined();
      const gflop = (s.estimate.flops / 1e9).toLocaleString('en-US', { maximumFractionDigits: 3 });
      const cells = row!.trim().split(/\s{2,}/);
      expect(Number(cells.at(-2)!.replace(/,/g, ''))).toBeCloseTo(Number(gflop.replace(/,/g, '')), 0);
      expect(Number(cells.at(-1)!.replace(/,/g, ''))).toBeCloseTo(s.estimate.peakBytes / 1e6, 1);
    }
    expect(text).toContain('k 4 by label; noise sigmas 0.25/0.5/1');
    expect(text).toContain('softmax eta 1');
    expect(text).toContain('sigmas 0.25/0.5/1, n0 100, n 1000, alpha 0.001, 100 points, batch 1000, noise on device');
  });
});

describe('Plan JSON', () => {
  it('toJSON -> Plan.fromJSON round-trips exactly', () => {
    const plan = full.compile({ target: 'gpu', memoryBudget: 40e9 });
    const text = JSON.stringify(plan);
    const back = Plan.fromJSON(text);
    expect(back.data).toEqual(plan.data);
    expect(JSON.stringify(back)).toBe(text);
    expect(Plan.fromJSON(plan.toJSON()).hash).toBe(plan.hash);
  });

  it('rejects an edited plan, naming the first field that differs', () => {
    const data = JSON.parse(JSON.stringify(full.compile({ target: 'cpu' }))) as { stages: { batchSize?: number }[]; hash: string };
    data.stages[5]!.batchSize = 5;
    expect(() => Plan.fromJSON(data)).toThrow('Plan.fromJSON(json): plan.stages[5].batchSize must be 1000 as compiled from its spec, got 5');
    const hashed = JSON.parse(JSON.stringify(full.compile({ target: 'cpu' }))) as { hash: string };
    hashed.hash = '0000000000000000';
    expect(() => Plan.fromJSON(hashed)).toThrow("Plan.fromJSON(json): plan.hash must be");
    expect(() => Plan.fromJSON({ ...full.compile().toJSON(), extra: 1 })).toThrow("Plan.fromJSON(json): plan keys must be among version, hash");
    expect(() => Plan.fromJSON('nope')).toThrow('Plan.fromJSON(json): json must be a plan as JSON text, got invalid JSON');
  });
});

describe('plan.run(): the seam to the engine', () => {
  it('without an engine it refuses to pretend', async () => {
    const plan = pretrain().compile();
    expect(() => plan.run()).toThrow(DslError);
    expect(() => plan.run()).toThrow("plan.run(): no engine is loaded — import from 'robustlab' (the full package), not 'robustlab/dsl'");
  });

  it('hands the plan data and options to the registered runner, and checks the options', async () => {
    const seen: { plan: PlanData; runsDir?: string }[] = [];
    const unregister = registerPlanRunner(async (plan, options) => {
      seen.push({ plan, runsDir: options.runsDir });
      const result: RunResult = { hash: plan.hash, runDir: `${options.runsDir}/${plan.hash}`, backend: 'cpu', cached: false, seconds: 0, pretrain: null, finetune: [], evaluate: null, certify: null };
      return result;
    });
    try {
      const plan = pretrain().compile();
      const result = await plan.run({ runsDir: '/tmp/runs', quiet: true });
      expect(result.runDir).toBe(`/tmp/runs/${plan.hash}`);
      expect(seen[0]!.plan).toBe(plan.data);
      expect(() => plan.run({ resume: 'yes' as unknown as boolean })).toThrow("plan.run({ resume }): resume must be true or false, got 'yes'");
      expect(() => plan.run({ runDir: 'x' } as object)).toThrow("plan.run(options): option names must be among runsDir, resume, progress, quiet, got 'runDir' (hint: did you mean 'runsDir'?)");
    } finally {
      unregister();
    }
    expect(() => pretrain().compile().run()).toThrow('no engine is loaded');
  });
});
