/**
 * dynalite parses every expression of every request (condition, key condition, filter, update,
 * projection) with its PEG parsers, and the handlers send the same few expressions over and
 * over (the reconciler's index Query at each sweep, `attribute_not_exists(pk)`, the
 * OPEN -> DONE condition), most of them with other values each time (a time, a count, a
 * change id). This remembers a parse, and a repeated one is a copy of the tree dynalite built
 * the first time, the names and values it used marked used exactly as the parser marks them:
 * - keyed by the expression, its names and the type of each value (S, N, M, ...): the tree
 *   holds the request's value objects themselves, so a copy with this request's values in
 *   their places is the tree dynalite would build. What else the parser decides from a value
 *   (begins_with, size, ADD and the others check its type only) is the same for the same types;
 * - keyed by the values themselves when the parse read more of a value than its type (BETWEEN
 *   compares its bounds, attribute_type reads its type name), or when it ended in an error.
 * A parse that throws is never remembered (dynalite's error comes from its own parser, each
 * time). dynalite's validation, conditions and storage are untouched.
 */
import { createRequire } from 'node:module';

interface ParseContext {
  attrNames?: Record<string, string>;
  attrVals?: Record<string, unknown>;
  unusedAttrNames?: Record<string, boolean>;
  unusedAttrVals?: Record<string, boolean>;
  [key: string]: unknown;
}

type Parse = (expression: string, options: { context: ParseContext }) => unknown;

interface Parsed {
  /** The tree, or the error message the parse returned; a Slot where a value of the request was. */
  tree: unknown;
  /** The expression attribute names and values the parse used (the parser marks them used). */
  names: string[];
  values: string[];
}

/** Parses kept per parser; past this the cache starts again (expressions with changing values never repeat). */
export const PARSE_CACHE_ENTRIES = 1_000;
/** A parse keyed by its values is not kept when they are longer than this (as JSON). */
const MAX_KEY_CHARS = 2_000;

/** Where the parse put the value of the request named `name` (a template's hole). */
class Slot {
  constructor(readonly name: string) {}
}

/**
 * A deep copy that keeps each object's prototype (dynalite builds some with Object.create(null)):
 * a Slot becomes the request's value of that name, and a value of the request met in the tree
 * (`holes`, when making a template) becomes a Slot.
 */
const copy = (v: unknown, values?: Record<string, unknown>, holes?: Map<unknown, string>): unknown => {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Slot) return values![v.name];
  const hole = holes?.get(v);
  if (hole !== undefined) return new Slot(hole);
  if (Array.isArray(v)) return v.map((x) => copy(x, values, holes));
  const out = Object.create(Object.getPrototypeOf(v) as object | null) as Record<string, unknown>;
  for (const k of Object.keys(v)) out[k] = copy((v as Record<string, unknown>)[k], values, holes);
  return out;
};

/** The order dynalite's parsers read a value's type in (getImmediateType). */
const TYPES = ['S', 'N', 'B', 'NULL', 'BOOL', 'SS', 'NS', 'BS', 'L', 'M'];

/** Each value's name and type, as the parsers read them; undefined for a value they might read otherwise. */
const typesOf = (values: Record<string, unknown>): string | undefined => {
  let out = '';
  for (const [name, v] of Object.entries(values)) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || 'attrType' in v) return undefined;
    out += `${name}\u0000${TYPES.find((t) => (v as Record<string, unknown>)[t] != null) ?? ''}\u0000`;
  }
  return out;
};

/** Whether a tree holds a part that read a value's content, not only its type. */
const readsContent = (v: unknown): boolean => {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(readsContent);
  const node = v as { type?: unknown; name?: unknown };
  if (node.type === 'between' || (node.type === 'function' && node.name === 'attribute_type')) return true;
  return Object.values(v).some(readsContent);
};

const flags = (keys: string[]): Record<string, boolean> => Object.fromEntries(keys.map((k) => [k, true]));

const state = { enabled: true, installed: false, hits: 0, misses: 0 };

const remembering = (parse: Parse): Parse => {
  /** Parses keyed by expression, names and value types: the tree has a Slot for each value. */
  const byTypes = new Map<string, Parsed>();
  /** Parses keyed by expression, names and values: errors, and trees that read a value's content. */
  const byValues = new Map<string, Parsed>();
  const remember = (cache: Map<string, Parsed>, key: string, parsed: Parsed): void => {
    if (cache.size >= PARSE_CACHE_ENTRIES) cache.clear();
    cache.set(key, parsed);
  };
  return (expression, options) => {
    const ctx = options.context;
    if (!state.enabled) return parse(expression, options);
    const names = JSON.stringify(ctx.attrNames ?? null);
    const values = ctx.attrVals ?? {};
    const types = typesOf(values);
    const typesKey = types === undefined ? undefined : `${expression}\u0000${names}\u0000${types}`;
    const use = (parsed: Parsed): unknown => {
      state.hits++;
      for (const n of parsed.names) delete ctx.unusedAttrNames?.[n];
      for (const v of parsed.values) delete ctx.unusedAttrVals?.[v];
      return copy(parsed.tree, values);
    };
    const typed = typesKey === undefined ? undefined : byTypes.get(typesKey);
    if (typed) return use(typed);
    const valuesKey = `${expression}\u0000${names}\u0000${JSON.stringify(ctx.attrVals ?? null)}`;
    const valued = valuesKey.length > MAX_KEY_CHARS ? undefined : byValues.get(valuesKey);
    if (valued) return use(valued);
    state.misses++;
    const allNames = Object.keys(ctx.attrNames ?? {});
    const allValues = Object.keys(values);
    // Parse with every name and value still unused, to learn exactly which this expression uses.
    const probe = { ...ctx, unusedAttrNames: flags(allNames), unusedAttrVals: flags(allValues) };
    const tree = parse(expression, { context: probe });
    const usedNames = allNames.filter((n) => !(n in probe.unusedAttrNames));
    const usedValues = allValues.filter((v) => !(v in probe.unusedAttrVals));
    for (const n of usedNames) delete ctx.unusedAttrNames?.[n];
    for (const v of usedValues) delete ctx.unusedAttrVals?.[v];
    if (typesKey !== undefined && typeof tree === 'object' && tree !== null && !readsContent(tree)) {
      const holes = new Map<unknown, string>(usedValues.map((v) => [values[v], v]));
      remember(byTypes, typesKey, { tree: copy(tree, undefined, holes), names: usedNames, values: usedValues });
    } else if (valuesKey.length <= MAX_KEY_CHARS) remember(byValues, valuesKey, { tree: copy(tree), names: usedNames, values: usedValues });
    return tree;
  };
};

/** Puts the cache in front of dynalite's expression parsers (once per process). */
export const installParseCache = (): void => {
  if (state.installed) return;
  const require = createRequire(import.meta.url);
  for (const name of ['conditionParser', 'updateParser', 'projectionParser']) {
    const parser = require(`dynalite/db/${name}.js`) as { parse: Parse };
    parser.parse = remembering(parser.parse);
  }
  state.installed = true;
};

/** For tests: turn the cache off (every parse by dynalite's parser) or on, and read its hits and misses. */
export const parseCache = {
  set enabled(on: boolean) {
    state.enabled = on;
  },
  get enabled(): boolean {
    return state.enabled;
  },
  stats: (): { hits: number; misses: number } => ({ hits: state.hits, misses: state.misses }),
};
