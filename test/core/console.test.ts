/**
 * What the stack tells the console's function about the pipelines (core/console.ts): each
 * pipeline's stages, waves, regions and team, compact enough for Lambda's 4 KB environment,
 * read back as written, and a value that is not what the stack writes refused by name.
 */
import { describe, expect, it } from 'vitest';
import { CONSOLE_ENV, consolePipeline, encodeConsolePipelines, parseConsolePipelines } from '../../core/console.ts';
import { fixturePipelines, loadPipelines } from '../infra/fixtures.ts';

describe('the pipelines as the console is told them', () => {
  it('lists the pre-production stages in their region, then each wave with its regions, and the team', () => {
    expect(consolePipeline(fixturePipelines[0]!)).toEqual({
      name: 'orders',
      team: 'payments',
      waves: [
        { name: 'beta', regions: ['us-west-2'] },
        { name: 'gamma', regions: ['us-west-2'] },
        { name: 'wave-1', regions: ['eu-west-1'] },
        { name: 'wave-2', regions: ['us-east-1'] },
      ],
    });
  });

  it('reads back what it wrote, in a fraction of the JSON for pipelines of every region', async () => {
    const { pipelines } = await loadPipelines();
    const views = pipelines.map(consolePipeline);
    const encoded = encodeConsolePipelines(views);
    expect(parseConsolePipelines(encoded)).toEqual(views);
    expect(encoded.length).toBeLessThan(JSON.stringify(views).length / 3);
  });

  it('refuses a missing or foreign value, naming the variable', () => {
    expect(() => parseConsolePipelines(undefined)).toThrow(CONSOLE_ENV.PIPELINES);
    expect(() => parseConsolePipelines('[{"name":"x"}]')).toThrow(CONSOLE_ENV.PIPELINES);
    expect(() => parseConsolePipelines(encodeConsolePipelines([{ name: 'x' } as never]))).toThrow(/waves/);
  });
});
