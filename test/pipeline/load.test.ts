import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineFile, loadPipelineFiles } from '../../cli/load.ts';
import { formatProblem } from '../../core/pipeline/resolve.ts';

const definitionUrl = JSON.stringify(resolve('infra/pipeline/definition.ts'));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'handsoff-load-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const file = async (name: string, text: string): Promise<string> => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

describe('loadPipelineFile', () => {
  it('loads the example JSON pipeline', async () => {
    const result = await loadPipelineFile('examples/pipeline.json');
    expect(result.ok && result.pipeline.waves.map((w) => w.regions.length)).toEqual([1, 1, 3, 1]);
  });

  it('reports a JSON syntax error as a problem naming the file', async () => {
    // Prepare
    const path = await file('broken.json', '{ "name": "orders", }');

    // Act
    const result = await loadPipelineFile(path);

    // Assess
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toHaveLength(1);
    expect(!result.ok && formatProblem(result.problems[0]!)).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: invalid JSON`));
  });

  it('reports a missing file with an empty path', async () => {
    const result = await loadPipelineFile(join(dir, 'nope.json'));
    expect(!result.ok && result.problems).toEqual([
      { file: join(dir, 'nope.json'), path: '', message: expect.stringMatching(/^file not found/) },
    ]);
  });

  it('validates the content of a JSON file with the file name in each problem', async () => {
    const path = await file('bad.json', JSON.stringify({ name: 'orders', service: 'Orders', team: 'shop', unit: 'rack' }));
    const result = await loadPipelineFile(path);
    expect(!result.ok && result.problems.map((p) => [p.file, p.path])).toEqual([[path, 'unit']]);
  });

  it('loads a TypeScript module whose default export is a Pipeline instance', async () => {
    const path = await file(
      'orders.ts',
      `import { Bake, Pipeline } from ${definitionUrl};\n` +
        `export default new Pipeline({ name: 'orders', service: 'Orders', team: 'shop', regions: ['us-east-1'], bake: { oneBox: Bake.minutes(20) } });\n`,
    );
    const result = await loadPipelineFile(path);
    expect(result.ok && result.pipeline.bake.oneBoxSeconds).toBe(1200);
  });

  it('loads a module whose default export is a plain object', async () => {
    const path = await file('plain.mjs', `export default { name: 'plain', service: 'Plain', team: 'shop', regions: ['eu-west-1'] };\n`);
    const result = await loadPipelineFile(path);
    expect(result.ok && result.pipeline.name).toBe('plain');
  });

  it('explains a default export that is a class instead of an instance', async () => {
    const path = await file('klass.ts', `import { Pipeline } from ${definitionUrl};\nexport default class Orders extends Pipeline {}\n`);
    const result = await loadPipelineFile(path);
    expect(!result.ok && result.problems[0]!.message).toMatch(/is a class \(Orders\).*export default new Orders/);
  });

  it('explains a module without a default export', async () => {
    const path = await file('named.mjs', `export const pipeline = {};\n`);
    const result = await loadPipelineFile(path);
    expect(!result.ok && result.problems[0]!.message).toMatch(/no default export.*named exports found: pipeline/);
  });

  it('loads the shipped pipelines-as-code files', async () => {
    const result = await loadPipelineFiles(['infra/pipelines/storefront-api.ts', 'infra/pipelines/checkout-service.ts']);
    expect(result.ok && result.pipelines.map((p) => p.name)).toEqual(['storefront-api', 'checkout-service']);
  });

  it('rejects two pipelines with one name (and, here, one service and kind)', async () => {
    const result = await loadPipelineFiles(['examples/pipeline.json', 'infra/pipelines/storefront-api.ts']);
    expect(!result.ok && result.problems.map((p) => [p.file, p.path])).toEqual([
      ['infra/pipelines/storefront-api.ts', 'name'],
      ['infra/pipelines/storefront-api.ts', 'kind'],
    ]);
  });

  it('still reports the set\'s rules when a file also holds a pipeline with problems: every problem at once', async () => {
    const file = join(dir, 'set-and-bad.ts');
    writeFileSync(
      file,
      `export default [
        { name: 'ledger', service: 'Ledger', team: 'money', regions: ['eu-west-1'] },
        { name: 'ledger', service: 'LedgerTwo', team: 'money', regions: ['eu-west-2'] },
        { name: 'search-config', service: 'Search', team: 'money', kind: 'config', regions: ['us-east-2'] },
        { name: 'search-settings', service: 'Search', team: 'money', kind: 'config', regions: ['us-east-2'] },
        { name: 'pay-api', service: 'PayApi', team: 'money', regions: ['us-east-7'] },
      ];\n`,
    );
    const result = await loadPipelineFiles([file]);
    expect(result.ok).toBe(false);
    const messages = !result.ok ? result.problems.map((p) => [p.path, p.message]) : [];
    expect(messages).toHaveLength(3);
    expect(messages).toContainEqual(['regions[0]', expect.stringContaining("'us-east-7'")]);
    expect(messages).toContainEqual(['name', expect.stringMatching(/^pipeline name 'ledger' is also used by/)]);
    expect(messages).toContainEqual(['kind', expect.stringContaining("'search-config'")]);
  });

  it('refuses names and teams that make the same resource ids (synth could not tell them apart)', async () => {
    const file = join(dir, 'alike.json');
    writeFileSync(file, JSON.stringify({ name: 'shop-1', service: 'ShopOne', team: 'Storefront', regions: ['us-east-1'] }));
    const other = join(dir, 'alike-2.json');
    writeFileSync(other, JSON.stringify({ name: 'shop1', service: 'ShopTwo', team: 'storefront', regions: ['us-east-1'] }));
    const result = await loadPipelineFiles([file, other]);
    expect(!result.ok && result.problems.map((p) => [p.file, p.path, p.message])).toEqual([
      [other, 'name', expect.stringMatching(/^pipeline names 'shop-1' and 'shop1' make the same resource ids \('Shop1'\)/)],
      [other, 'team', expect.stringMatching(/^team 'storefront' of 'shop1' .* and team 'Storefront' of 'shop-1' .* make the same resource ids/)],
    ]);
  });

  it('rejects two pipelines of one service and kind under different names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'handsoff-load-'));
    const copy = join(dir, 'copy.json');
    writeFileSync(copy, JSON.stringify({ name: 'storefront-api-copy', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1'] }));
    const result = await loadPipelineFiles(['examples/pipeline.json', copy]);
    expect(!result.ok && result.problems.map((p) => [p.file, p.path])).toEqual([[copy, 'kind']]);
  });
});
