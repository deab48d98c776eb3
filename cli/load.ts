/**
 * Loading pipeline definitions from files: `.json` (the JSON form) or a `.ts`/`.js`/`.mjs`
 * module whose default export is a Pipeline instance or a plain object. Every failure,
 * from a missing file to a syntax error, comes back as problems naming the file, never as
 * a thrown error, so the CLI can print them all and exit 2.
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REGION_CATALOG } from '../infra/catalog/regions.ts';
import type { ResolvedPipeline } from '../core/model.ts';
import { validateScenario, type ScenarioValidation } from '../sim/scenario.ts';
import { type PipelineValidation, type Problem, type ValidateOptions, validatePipeline } from '../core/pipeline/resolve.ts';
import { pipelineSetProblems } from '../core/pipeline/set.ts';

export const PIPELINE_FILE_EXTENSIONS = ['.json', '.ts', '.mts', '.js', '.mjs'] as const;

/** What a file given on the command line should be, for the messages about it. */
const PIPELINE_FILE = 'a pipeline file (.json, .ts, .js)';
const SCENARIO_FILE = 'a scenario file (.json)';

/**
 * Read and parse a JSON file; problems name the file, and the line and column of a syntax
 * error. `expected` says what the file should be (default: a pipeline file).
 */
export async function readJsonFile(
  path: string,
  expected: string = PIPELINE_FILE,
): Promise<{ ok: true; value: unknown } | { ok: false; problems: Problem[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, problems: [fileProblem(path, err, expected)] };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return {
      ok: false,
      problems: [{ file: path, path: '', message: `invalid JSON (${locate(text, (err as Error).message)}); fix the syntax` }],
    };
  }
}

/** `Unexpected token } in JSON at position 42` -> adds `(line 3, column 5)`. */
function locate(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (!m || /line \d+/.test(message)) return message;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `${message} (line ${line}, column ${column})`;
}

function fileProblem(path: string, err: unknown, expected: string = PIPELINE_FILE): Problem {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return { file: path, path: '', message: `file not found (resolved to ${resolvePath(path)}); check the path` };
  }
  if (code === 'EISDIR') return { file: path, path: '', message: `is a directory; pass ${expected}` };
  return { file: path, path: '', message: `cannot read the file: ${(err as Error).message}` };
}

/**
 * Imports a pipeline module with tsx's loader, registered only now: the CLI runs from its
 * build (no TypeScript loader at start), and a `.ts` pipeline, or a `.js` one that imports
 * handsoff's TypeScript sources (`infra/pipeline/definition.ts`), needs one.
 */
let tsLoader: Promise<unknown> | undefined;
const importModule = async (url: string): Promise<Record<string, unknown>> => {
  tsLoader ??= import('tsx/esm/api').then(({ register }) => register());
  await tsLoader;
  return (await import(url)) as Record<string, unknown>;
};

/**
 * A file's pipelines. A file with problems still carries the pipelines of it that resolved,
 * so the rules of the whole set (core/pipeline/set.ts) are checked on them too: every problem
 * is reported at once.
 */
type PipelineSet = { ok: true; pipelines: ResolvedPipeline[] } | { ok: false; problems: Problem[]; pipelines?: ResolvedPipeline[] };

const asSet = (v: PipelineValidation): PipelineSet => (v.ok ? { ok: true, pipelines: [v.pipeline] } : v);

/** Load one pipeline file and validate it. */
export async function loadPipelineFile(path: string, options: ValidateOptions = { catalog: REGION_CATALOG }): Promise<PipelineValidation> {
  const set = await loadPipelineSet(path, options);
  if (!set.ok) return set;
  if (set.pipelines.length === 1) return { ok: true, pipeline: set.pipelines[0]! };
  const names = set.pipelines.map((p) => p.name).join(', ');
  return { ok: false, problems: [{ file: path, path: '', message: `exports ${set.pipelines.length} pipelines (${names}); this command takes one: pass a file that exports one pipeline` }] };
}

/**
 * Load one pipeline file: a `.json` pipeline, or a module whose default export is a
 * pipeline or a list of them (a service's pipelines, one per kind: `TeamPipeline.forKinds`).
 */
export async function loadPipelineSet(path: string, options: ValidateOptions = { catalog: REGION_CATALOG }): Promise<PipelineSet> {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') {
    const json = await readJsonFile(path);
    return json.ok ? asSet(validatePipeline(json.value, path, options)) : json;
  }
  if (!(PIPELINE_FILE_EXTENSIONS as readonly string[]).includes(ext)) {
    return {
      ok: false,
      problems: [
        {
          file: path,
          path: '',
          message: `unsupported file type '${ext || '(none)'}'; a pipeline is a .json file or a .ts/.js/.mjs module with a default export`,
        },
      ],
    };
  }
  const abs = resolvePath(path);
  try {
    await readFile(abs); // distinguishes a missing file from a failing import
  } catch (err) {
    return { ok: false, problems: [fileProblem(path, err)] };
  }
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(pathToFileURL(abs).href);
  } catch (err) {
    return { ok: false, problems: [{ file: path, path: '', message: `failed to load the module: ${(err as Error).message}` }] };
  }
  const definition = mod.default;
  if (definition === undefined) {
    const exported = Object.keys(mod);
    return {
      ok: false,
      problems: [
        {
          file: path,
          path: '',
          message: `has no default export; add \`export default new MyPipeline(...)\` (or a plain object of the JSON form)${exported.length ? `; named exports found: ${exported.join(', ')}` : ''}`,
        },
      ],
    };
  }
  if (typeof definition === 'function') {
    return {
      ok: false,
      problems: [
        {
          file: path,
          path: '',
          message: `the default export is a ${/^class\b/.test(Function.prototype.toString.call(definition)) ? 'class' : 'function'} (${definition.name || 'anonymous'}), not a pipeline; export an instance: \`export default new ${definition.name || 'MyPipeline'}(...)\``,
        },
      ],
    };
  }
  if (!Array.isArray(definition)) return asSet(validatePipeline(definition, path, options));
  if (definition.length === 0) {
    return { ok: false, problems: [{ file: path, path: '', message: 'the default export is an empty list; export a pipeline or a list of pipelines' }] };
  }
  const each = definition.map((d: unknown, i) => {
    const name = (d as { name?: unknown } | null)?.name;
    return validatePipeline(d, `${path}#${typeof name === 'string' ? name : i}`, options);
  });
  const problems = each.flatMap((v) => (v.ok ? [] : v.problems));
  const pipelines = each.flatMap((v) => (v.ok ? [v.pipeline] : []));
  return problems.length > 0 ? { ok: false, problems, pipelines } : { ok: true, pipelines };
}

/**
 * Load several pipeline files that share one world. Problems of every file are collected,
 * and so are the rules of the whole set (core/pipeline/set.ts: unique names and resource ids,
 * one spelling per team, one pipeline per kind of a service), checked on every pipeline that
 * resolved, in files with problems too.
 */
export async function loadPipelineFiles(
  paths: readonly string[],
  options: ValidateOptions = { catalog: REGION_CATALOG },
): Promise<{ ok: true; pipelines: ResolvedPipeline[] } | { ok: false; problems: Problem[] }> {
  const results = await Promise.all(paths.map((p) => loadPipelineSet(p, options)));
  const problems: Problem[] = [];
  const pipelines: ResolvedPipeline[] = [];
  const files: string[] = [];
  results.forEach((r, i) => {
    if (!r.ok) problems.push(...r.problems);
    for (const pipeline of r.pipelines ?? []) {
      pipelines.push(pipeline);
      files.push(paths[i]!);
    }
  });
  for (const c of pipelineSetProblems(pipelines.map((p, i) => ({ ...p, source: files[i]! })))) {
    problems.push({ file: files[c.index]!, path: c.path, message: c.message });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, pipelines };
}

/** Read, parse and validate a `.json` scenario file. */
export async function loadScenarioFile(path: string, pipelines: readonly ResolvedPipeline[]): Promise<ScenarioValidation> {
  const json = await readJsonFile(path, SCENARIO_FILE);
  return json.ok ? validateScenario(json.value, path, pipelines) : json;
}
