/**
 * Problems with an input file (a pipeline, a scenario), located by file and field path, and
 * the wording of messages about them: every problem is reported at once, each naming the
 * field, the value received and the fix.
 */
import type { z } from 'zod';

/** One thing wrong with an input file, located by file and field path. */
export interface Problem {
  readonly file: string;
  /** Field path such as `bake.oneBox` or `waves[1][0]`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** `<file>: <path>: <message>` (the path part is left out when the problem concerns the whole file). */
export const formatProblem = (p: Problem): string =>
  p.path === '' ? `${p.file}: ${p.message}` : `${p.file}: ${p.path}: ${p.message}`;


// ---------------------------------------------------------------------------------------
// Paths and values in messages

export type PathSegment = string | number;

/** `['waves', 1, 0]` -> `waves[1][0]`; `['holidaysByRegion', 'eu-west-1']` -> `holidaysByRegion.eu-west-1`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = String(seg);
      if (/^[A-Za-z_$][\w$-]*$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** A value as it appears in a message: strings quoted, others as JSON. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return value.length > 5 ? `a list of ${value.length} items` : JSON.stringify(value);
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return String(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return String(value);
  }
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest candidate when it is close enough to be a likely typo. */
export function closest(value: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(value.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(value.length / 4)) ? best : undefined;
}

export const didYouMean = (value: string, candidates: readonly string[]): string => {
  const hint = closest(value, candidates);
  return hint === undefined ? '' : ` (did you mean '${hint}'?)`;
};

// ---------------------------------------------------------------------------------------
// zod issues -> problems

/* The schema walk reads zod's internal definition; it only feeds the "known fields" hint. */
/* eslint-disable @typescript-eslint/no-explicit-any */
function schemaAt(schema: any, path: readonly PropertyKey[]): any {
  let s = schema;
  const unwrap = (x: any): any => {
    let cur = x;
    for (let i = 0; i < 10 && cur?._zod?.def; i++) {
      const def = cur._zod.def;
      if (['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch'].includes(def.type)) cur = def.innerType;
      else if (def.type === 'pipe') cur = def.in;
      else break;
    }
    return cur;
  };
  s = unwrap(s);
  for (const seg of path) {
    const def = s?._zod?.def;
    if (!def) return undefined;
    if (def.type === 'object') s = def.shape?.[seg as string];
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else if (def.type === 'union') {
      s = def.options.map(unwrap).find((o: any) => ['object', 'array', 'record'].includes(o?._zod?.def?.type));
      if (s === undefined) return undefined;
      s = schemaAt(s, [seg]);
      continue;
    } else return undefined;
    s = unwrap(s);
  }
  return s;
}

function knownKeys(schema: unknown, path: readonly PropertyKey[], input: unknown): string[] {
  let s = schemaAt(schema, path);
  if (s?._zod?.def?.type === 'union') {
    // A discriminated union: the option whose literal fields match the input, e.g. its `kind`.
    const options: any[] = s._zod.def.options.filter((o: any) => o?._zod?.def?.type === 'object');
    const matches = (o: any) =>
      Object.entries(o._zod.def.shape).every(([key, field]: [string, any]) => {
        const def = field?._zod?.def;
        return def?.type !== 'literal' || (isRecord(input) && def.values.includes(input[key]));
      });
    s = options.find(matches);
  }
  const shape = s?._zod?.def?.type === 'object' ? s._zod.def.shape : undefined;
  return shape ? Object.keys(shape) : [];
}
/* eslint-enable @typescript-eslint/no-explicit-any */

const describeExpected = (expected: string): string =>
  expected === 'int' ? 'an integer' : expected === 'array' ? 'a list' : expected === 'object' ? 'an object' : `a ${expected}`;

/**
 * Turn zod issues into problems whose messages say what is wrong, the value received and
 * the fix. `schema` lets an unknown field name the known ones.
 */
export function zodIssuesToProblems(
  issues: readonly z.core.$ZodIssue[],
  file: string,
  schema: unknown,
  prefix: readonly PropertyKey[] = [],
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const input = (issue as { input?: unknown }).input;
    const at = (message: string, p: readonly PropertyKey[] = path) => problems.push({ file, path: formatPath(p), message });
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeys(schema, path, input);
        for (const key of issue.keys) {
          at(
            `unknown field '${key}'${didYouMean(key, known)}; ` +
              (known.length ? `known fields here: ${known.join(', ')}` : 'remove it'),
            [...path, key],
          );
        }
        break;
      }
      case 'invalid_type':
        if (input === undefined) {
          at(`missing required field '${String(path[path.length - 1] ?? '')}'; add it (${describeExpected(issue.expected)})`);
        } else {
          at(`expected ${describeExpected(issue.expected)}; received ${showValue(input)}`);
        }
        break;
      case 'invalid_value':
        at(`expected one of ${issue.values.map((v) => showValue(v)).join(', ')}; received ${showValue(input)}`);
        break;
      case 'too_small': {
        const min = String(issue.minimum);
        if (issue.origin === 'array' || issue.origin === 'set') {
          at(`expected at least ${min} item${min === '1' ? '' : 's'}; received ${Array.isArray(input) ? input.length : 0}`);
        } else if (issue.origin === 'string') {
          at(`expected at least ${min} character${min === '1' ? '' : 's'}; received ${showValue(input)}`);
        } else {
          at(`must be ${issue.inclusive ? 'at least' : 'more than'} ${min}; received ${showValue(input)}`);
        }
        break;
      }
      case 'too_big': {
        const max = String(issue.maximum);
        if (issue.origin === 'array' || issue.origin === 'set') {
          at(`expected at most ${max} items; received ${Array.isArray(input) ? input.length : '?'}`);
        } else if (issue.origin === 'string') {
          at(`expected at most ${max} characters; received ${showValue(input)}`);
        } else {
          at(`must be ${issue.inclusive ? 'at most' : 'less than'} ${max}; received ${showValue(input)}`);
        }
        break;
      }
      case 'invalid_union': {
        const disc = issue as { discriminator?: string; options?: unknown[] };
        if (disc.discriminator !== undefined && Array.isArray(disc.options) && issue.errors.length === 0) {
          const value = isRecord(input) ? input[disc.discriminator] : undefined;
          const options = disc.options.map((o) => showValue(o)).join(', ');
          at(
            value === undefined
              ? `missing required field '${disc.discriminator}'; add one of ${options}`
              : `expected one of ${options}; received ${showValue(value)}`,
          );
          break;
        }
        // A branch whose issues are all below the union's own level matched the value's
        // shape: its issues are the useful ones (e.g. a number inside a list of waves).
        const branch = issue.errors.find((errs) => errs.length > 0 && errs.every((e) => e.path.length > 0));
        if (branch) problems.push(...zodIssuesToProblems(branch, file, schema, path));
        else at(`${issue.message}; received ${showValue(input)}`);
        break;
      }
      case 'custom':
        at(issue.message);
        break;
      default:
        at(input === undefined ? issue.message : `${issue.message}; received ${showValue(input)}`);
    }
  }
  return problems;
}


export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
