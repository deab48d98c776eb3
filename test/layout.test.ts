/**
 * The layout's one rule: imports flow downhill. core/ is pure and AWS-free; statemachines/
 * and lambdas/ stand side by side over it; infra/ and sim/ on top (sim reads only the region
 * catalog's data from infra); console/ over core, lambdas and sim; cli/ above all. A file holds one concern: none is over 400 lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAYERS = ['core', 'statemachines', 'lambdas', 'infra', 'sim', 'console', 'cli'] as const;
type Layer = (typeof LAYERS)[number];

/** What each layer may import from the project (itself always). */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  core: [],
  statemachines: ['core'],
  lambdas: ['core'],
  infra: ['core', 'statemachines', 'lambdas'],
  sim: ['core', 'statemachines', 'lambdas'],
  console: ['core', 'lambdas', 'sim'],
  cli: ['core', 'statemachines', 'lambdas', 'infra', 'sim', 'console'],
};
/** The exceptions, each with its reason. */
const ALLOWED_FILES: Record<string, string> = {
  'infra/catalog/regions.ts': 'the central region catalog is data; the simulator builds its world from it',
};
/** Packages core may not use: it knows nothing of AWS. */
const NOT_IN_CORE = /^(@aws-sdk\/|aws-cdk-lib|constructs$|@aws-lambda-powertools\/|@middy\/|aws-local-stepfunctions|dynalite)/;

const sourceFiles = (dir: string): string[] =>
  readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) return sourceFiles(rel);
    return /\.(ts|mts|mjs)$/.test(name) ? [rel] : [];
  });

const importsOf = (file: string): string[] => {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)];
  return specs.map((m) => (m[1] ?? m[2])!);
};

const layerOf = (file: string): Layer | undefined => LAYERS.find((l) => file === l || file.startsWith(`${l}/`));

const files = LAYERS.flatMap((l) => sourceFiles(l));

describe('layout', () => {
  it('finds the source files', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('imports flow downhill: no layer imports one above it or beside it', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = layerOf(file)!;
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) {
          if (from === 'core' && NOT_IN_CORE.test(spec)) wrong.push(`${file} imports ${spec}: core knows nothing of AWS`);
          continue;
        }
        const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec));
        const to = layerOf(target);
        if (!to || to === from || MAY_IMPORT[from].includes(to) || target in ALLOWED_FILES) continue;
        wrong.push(`${file} imports ${target} (${from} -> ${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('keeps every source file under 400 lines: past that a file usually holds two concerns', () => {
    const long = files
      .map((file) => ({ file, lines: readFileSync(path.join(ROOT, file), 'utf8').split('\n').length }))
      .filter((f) => f.lines > 400)
      .map((f) => `${f.file}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });
});
