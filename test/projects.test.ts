/**
 * The suite's three projects (vitest.config.ts): every test file runs in exactly one of them. No
 * file of `shared` (one module graph per worker, so the AWS client mocks of one file stay on
 * the client classes for the next) runs the simulator in its own process, runs the CLI through
 * the simulator's harness (only `cli` and the isolated project have its shared runs) or drives
 * a browser. No file of `cli` (one graph per worker too) runs the simulator in its own process,
 * drives a browser or mocks: it reads what the CLI prints.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVitest } from 'vitest/node';
import { WALL_CLOCK_LIMIT_MS } from '../vitest.config.ts';

const TEST_DIR = fileURLToPath(new URL('.', import.meta.url));

/** What only an isolated file may import: the simulator with its real SDK clients, the browser. */
const IN_PROCESS = /from '(?:(?:\.\.?\/)+(?:sim\/(?:engine|local-dynamo|chaos|meter|bench\/[^']*)\.ts|browser-support\.ts)|playwright-core)'/;
/** The CLI harness: only `cli` and isolated files may import it. */
const HARNESS = /from '(?:\.\.?\/)+(?:sim\/)?cli-harness\.ts'/;
/** What a file of a shared graph must not do to the next file of it: mock modules, AWS clients or timers. */
const MOCKS = /aws-sdk-client-mock|vi\.(?:mock|doMock|spyOn|stubGlobal|stubEnv|useFakeTimers)\(/;

const projectsOfFiles = async (): Promise<Map<string, string[]>> => {
  const vitest = await createVitest('test', { watch: false, run: true }, {}, {});
  try {
    const byFile = new Map<string, string[]>();
    for (const spec of await vitest.globTestSpecifications()) {
      const file = path.relative(TEST_DIR, spec.moduleId);
      byFile.set(file, [...(byFile.get(file) ?? []), spec.project.name]);
    }
    return byFile;
  } finally {
    await vitest.close();
  }
};

describe('the test projects', () => {
  it('run every test file in exactly one project: no simulator, CLI harness or browser in shared, no simulator, browser or mock in cli', async () => {
    const byFile = await projectsOfFiles();
    const files = (readdirSync(TEST_DIR, { recursive: true }) as string[]).filter((f) => f.endsWith('.test.ts')).sort();
    expect([...byFile.keys()].sort()).toEqual(files);
    expect([...byFile].filter(([, projects]) => projects.length !== 1)).toEqual([]);
    const inProject = (name: string): string[] => [...byFile].filter(([, [project]]) => project === name).map(([file]) => file);
    const text = (file: string): string => readFileSync(path.join(TEST_DIR, file), 'utf8');
    /** A file's text and that of every test helper it imports, directly or through another helper. */
    const withHelpers = (file: string, seen = new Set<string>()): string => {
      seen.add(file);
      const own = text(file);
      const helpers = [...own.matchAll(/from '(\.\.?\/[^']+\.ts)'/g)]
        .map((m) => path.relative(TEST_DIR, path.resolve(TEST_DIR, path.dirname(file), m[1]!)))
        .filter((f) => !f.startsWith('..') && !seen.has(f));
      return [own, ...helpers.map((f) => withHelpers(f, seen))].join('\n');
    };
    const shared = inProject('shared');
    expect(shared.length).toBeGreaterThan(40);
    expect(shared.filter((file) => IN_PROCESS.test(text(file)) || HARNESS.test(text(file)))).toEqual([]);
    const cli = inProject('cli');
    expect(cli.length).toBeGreaterThan(20);
    expect(cli.filter((file) => !HARNESS.test(text(file)))).toEqual([]);
    expect(cli.filter((file) => IN_PROCESS.test(withHelpers(file)) || MOCKS.test(withHelpers(file)))).toEqual([]);
    // The rules see what they must: these isolated files run the simulator or the browser in
    // their own process, these of shared mock, these of cli use the harness.
    for (const file of ['sim/local-dynamo.test.ts', 'sim/bench-meter.test.ts', 'console/browser.test.ts', 'console/local.test.ts']) {
      expect(byFile.get(file), file).toEqual(['isolated']);
      expect(IN_PROCESS.test(text(file)), file).toBe(true);
    }
    for (const file of ['lambdas/support.ts', 'lambdas/review-gate-github.test.ts']) expect(MOCKS.test(text(file)), file).toBe(true);
    // ...and through the helpers a file imports: lane.test.ts mocks in lambdas/support.ts only.
    expect([MOCKS.test(text('lambdas/lane.test.ts')), MOCKS.test(withHelpers('lambdas/lane.test.ts'))]).toEqual([false, true]);
    for (const file of ['sim/rollout.test.ts', 'infra/alarm-plan.test.ts', 'console/report.test.ts']) {
      expect(byFile.get(file), file).toEqual(['cli']);
      expect(HARNESS.test(text(file)), file).toBe(true);
    }
  });

  it('leave the wall clock to the config: no test file sets a limit of its own below it', () => {
    const own = wallClockLimits(
      (readdirSync(TEST_DIR, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && f !== 'projects.test.ts').map((f) => [f, readFileSync(path.join(TEST_DIR, f), 'utf8')]),
    );
    expect(own.filter((l) => l.ms < WALL_CLOCK_LIMIT_MS)).toEqual([]);
    // The rule sees what it must: a hook's, a test's, a poll's, a spawn's and Playwright's limits.
    expect(
      wallClockLimits([
        ['a.ts', "beforeAll(async () => {\n  run = await go();\n}, 120_000);"],
        ['b.ts', "it('x', () => {\n  y();\n}, 5000);"],
        ['c.ts', 'await expect.poll(() => n, { timeout: 60_000 }).toBe(1);'],
        ['d.ts', "spawnSync(node, args, { cwd, timeout: 120_000 });"],
        ['e.ts', 'await page.getByRole("img").waitFor({ timeout: 30000 });\npage.setDefaultTimeout(1000);'],
        ['f.ts', "const MIN = 60_000;\nsetTimeout(() => create(p), at + 90 * MIN);"],
      ]).map((l) => [l.file, l.ms]),
    ).toEqual([
      ['a.ts', 120_000],
      ['b.ts', 5000],
      ['c.ts', 60_000],
      ['d.ts', 120_000],
      ['e.ts', 30_000],
      ['e.ts', 1000],
    ]);
  });
});

/**
 * Wall-clock limits written in test files: a number after a test's or hook's body (`}, N)`), a
 * `timeout: N` option (a poll, a spawn, a Playwright step) and a Playwright default. Virtual
 * time in a simulator's scenario (a `setTimeout` under fake timers) is not a limit.
 */
const wallClockLimits = (files: Array<[string, string]>): Array<{ file: string; ms: number; text: string }> =>
  files.flatMap(([file, text]) =>
    [...text.matchAll(/^\s*\}, ([\d_]+)\);?\s*$|\btimeout: ([\d_]+)|setDefault(?:Navigation)?Timeout\(([\d_]+)\)/gm)].map((m) => ({
      file,
      ms: Number((m[1] ?? m[2] ?? m[3])!.replaceAll('_', '')),
      text: m[0].trim(),
    })),
  );
