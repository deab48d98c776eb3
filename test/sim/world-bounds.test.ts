/**
 * The bounds that let an alarm sleep (sim/world/alarms/bounds.ts) hold every value the exact
 * metric math (math.ts) computes from inputs within their bounds: for every expression of
 * the alarm plan and for random inputs, "certainly" is never wrong.
 */
import { describe, expect, it } from 'vitest';
import { regionAlarmPlan, targetRegions } from '../../core/alarms/index.ts';
import { isMathExpr, type MathExpr } from '../../core/alarms/types.ts';
import { compare, compileBounds, type Iv } from '../../sim/world/alarms/bounds.ts';
import { compileMath } from '../../sim/world/alarms/math.ts';
import { pipeline } from './world-fixtures.ts';

/** A small deterministic generator (mulberry32). */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), seed | 1);
  x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
};

const pipelines = [pipeline(), pipeline({ name: 'cart-api', service: 'CartApi', oneBox: false, hostsPerUnit: 2, preProd: [] })];
const expressions = (): MathExpr[] => {
  const out: MathExpr[] = [];
  const walk = (e: MathExpr) => {
    out.push(e);
    for (const q of Object.values(e.using)) if (isMathExpr(q)) walk(q);
  };
  for (const region of targetRegions(pipelines)) for (const d of regionAlarmPlan(pipelines, region)) if (d.kind === 'math') walk(d.math);
  return [...new Map(out.map((e) => [e.expression + JSON.stringify(Object.keys(e.using)), e])).values()];
};

/** Random bounds for an input: a range (sometimes a point, sometimes exact integers), maybe no datapoint. */
const randomBounds = (r: () => number): Iv => {
  const exact = r() < 0.5;
  const scale = [1, 30, 1000][Math.floor(r() * 3)]!;
  let lo = r() < 0.2 ? 0 : r() * scale;
  let hi = r() < 0.3 ? lo : lo + r() * scale;
  if (exact) [lo, hi] = [Math.floor(lo), Math.ceil(hi)];
  const nan = r() < 0.25;
  return { lo, hi, nan, val: !nan || r() < 0.7, exact };
};

/** A value the bounds allow (endpoints often: that is where rounding bites). */
const sample = (b: Iv, r: () => number): number => {
  if (!b.val || (b.nan && r() < 0.3)) return Number.NaN;
  const u = r();
  const v = u < 0.2 ? b.lo : u < 0.4 ? b.hi : b.lo + r() * (b.hi - b.lo);
  return b.exact ? Math.min(b.hi, Math.max(b.lo, Math.round(v))) : v;
};

const contains = (b: Iv, v: number): boolean => (v !== v ? b.nan : b.val && v >= b.lo - 1e-9 * (1 + Math.abs(b.lo)) && v <= b.hi + 1e-9 * (1 + Math.abs(b.hi)));

describe('Alarm bounds', () => {
  it('hold every value the exact metric math computes, for every expression of the plan', () => {
    const r = rng(42);
    const exprs = expressions();
    expect(exprs.length).toBeGreaterThan(3);
    let certain = 0;
    for (const e of exprs) {
      // Leaf queries (metrics) get random bounds; nested expressions are compiled as the alarm book does.
      for (let round = 0; round < 300; round++) {
        const leafBounds = new Map<string, Iv>();
        const leafValues = new Map<string, number>();
        const leaf = (path: string) => {
          if (!leafBounds.has(path)) leafBounds.set(path, randomBounds(r));
          return leafBounds.get(path)!;
        };
        const bounds = (x: MathExpr, at: string): ReturnType<typeof compileBounds> =>
          compileBounds(x.expression, (id) => {
            const q = x.using[id]!;
            return isMathExpr(q) ? bounds(q, `${at}/${id}`) : () => leaf(`${at}/${id}`);
          });
        const exact = (x: MathExpr, at: string): ReturnType<typeof compileMath> =>
          compileMath(x.expression, (id) => {
            const q = x.using[id]!;
            if (isMathExpr(q)) return exact(q, `${at}/${id}`);
            const path = `${at}/${id}`;
            return () => {
              if (!leafValues.has(path)) leafValues.set(path, sample(leaf(path), r));
              return leafValues.get(path)!;
            };
          });
        const b = bounds(e, '')(0);
        for (let i = 0; i < 20; i++) {
          leafValues.clear();
          const v = exact(e, '')(0);
          expect(contains(b, v), `${e.expression} = ${v} outside ${JSON.stringify(b)} with ${JSON.stringify([...leafValues])}`).toBe(true);
        }
        if (!b.nan && b.val && b.lo === b.hi) certain++;
      }
    }
    // Not vacuous: some rounds pin the result down.
    expect(certain).toBeGreaterThan(0);
  });

  it('compare says "certainly" only when every pair of values agrees', () => {
    const r = rng(7);
    const ops = ['>', '>=', '<', '<=', '==', '!='] as const;
    const holds = (op: (typeof ops)[number], x: number, y: number) =>
      op === '>' ? x > y : op === '>=' ? x >= y : op === '<' ? x < y : op === '<=' ? x <= y : op === '==' ? x === y : x !== y;
    for (let round = 0; round < 2000; round++) {
      const a = { ...randomBounds(r), nan: false, val: true };
      const b = { ...randomBounds(r), nan: false, val: true };
      for (const op of ops) {
        const c = compare(op, a, b);
        if (c === 2) continue;
        for (let i = 0; i < 10; i++) expect(holds(op, sample(a, r), sample(b, r))).toBe(c === 1);
      }
    }
    // Exact bounds that touch decide a non-strict comparison; a margin keeps inexact ones undecided.
    expect(compare('>', { lo: 0, hi: 0, nan: false, val: true, exact: true }, { lo: 0, hi: 0, nan: false, val: true, exact: true })).toBe(0);
    expect(compare('>', { lo: 0, hi: 0, nan: false, val: true }, { lo: 0, hi: 0, nan: false, val: true, exact: true })).toBe(2);
  });
});
