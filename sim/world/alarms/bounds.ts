/**
 * What an alarm's datapoints can be over a block of quiet minutes, without computing them:
 * interval arithmetic over the same metric math (math.ts) the alarm evaluates, fed with the
 * bounds a quiet fleet's series keep (quiet.ts). It only ever answers "certainly" when every
 * value the exact evaluation could produce agrees (with a margin for float rounding); any
 * doubt is "maybe", and a "maybe" keeps the alarm evaluated every minute.
 */
import { parse, type Node } from './math.ts';

/** A set of possible values: the numbers in [lo, hi] (when `val`) and/or no datapoint (when `nan`). */
export interface Iv {
  lo: number;
  hi: number;
  /** May be no datapoint (NaN). */
  nan: boolean;
  /** May be a number (then within [lo, hi]). */
  val: boolean;
  /**
   * The bounds hold the computed values exactly (integer counts, constants, and what the same
   * float operations make of them: rounding is monotone); otherwise comparisons leave a margin.
   */
  exact?: boolean;
}

/** The bounds of a series over a block of minutes (block = minute / BLOCK_MINUTES, floored). */
export type IvSeries = (block: number) => Iv;

/** Minutes of one block of bounds (aligned to the epoch, so every alarm of a fleet shares them). */
export const BLOCK_MINUTES = 240;

export const point = (v: number): Iv => ({ lo: v, hi: v, nan: false, val: true, exact: true });
export const NO_DATA: Iv = { lo: 0, hi: 0, nan: true, val: false, exact: true };
const ANY: Iv = { lo: Number.NEGATIVE_INFINITY, hi: Number.POSITIVE_INFINITY, nan: true, val: true };
const BOOL: Iv = { lo: 0, hi: 1, nan: false, val: true, exact: true };

/** Margin for the float rounding of the exact path (Float32 storage, float64 math). */
const slack = (x: number): number => 1e-6 * Math.abs(x) + 1e-9;

/** Whether a comparison holds for every value (1), for none (0), or may go either way (2). */
export const compare = (op: string, a: Iv, b: Iv): 0 | 1 | 2 => {
  const aLo = a.exact ? a.lo : a.lo - slack(a.lo);
  const aHi = a.exact ? a.hi : a.hi + slack(a.hi);
  const bLo = b.exact ? b.lo : b.lo - slack(b.lo);
  const bHi = b.exact ? b.hi : b.hi + slack(b.hi);
  // Exact bounds may touch; with a margin they must be apart.
  const exact = a.exact === true && b.exact === true;
  const ge = (x: number, y: number) => (exact ? x >= y : x > y);
  switch (op) {
    case '>': return aLo > bHi ? 1 : ge(bLo, aHi) ? 0 : 2;
    case '>=': return ge(aLo, bHi) ? 1 : aHi < bLo ? 0 : 2;
    case '<': return aHi < bLo ? 1 : ge(aLo, bHi) ? 0 : 2;
    case '<=': return ge(bLo, aHi) ? 1 : aLo > bHi ? 0 : 2;
    case '==': return aHi < bLo || aLo > bHi ? 0 : exact && aLo === aHi && bLo === bHi ? 1 : 2;
    case '!=': return aHi < bLo || aLo > bHi ? 1 : exact && aLo === aHi && bLo === bHi ? 0 : 2;
  }
  return 2;
};

const truth = (t: 0 | 1 | 2): Iv => (t === 2 ? BOOL : point(t));
/** Whether a value is non-zero for every number (1), zero for every number (0), or either (2). */
const nonZero = (x: Iv): 0 | 1 | 2 => (x.lo > 0 || x.hi < 0 ? 1 : x.lo === 0 && x.hi === 0 ? 0 : 2);

const union = (a: Iv, b: Iv): Iv => {
  if (!a.val) return { ...b, nan: a.nan || b.nan };
  if (!b.val) return { ...a, nan: a.nan || b.nan };
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi), nan: a.nan || b.nan, val: true, exact: a.exact === true && b.exact === true };
};

/** Both operands are numbers for a result to be one (NaN propagates, as in math.ts). */
const both = (a: Iv, b: Iv, f: (a: Iv, b: Iv) => Iv): Iv => {
  if (!a.val || !b.val) return NO_DATA;
  const r = f(a, b);
  // Comparisons give exact 0/1; arithmetic keeps exactness when both operands have it.
  return { ...r, nan: r.nan || a.nan || b.nan, exact: r.exact === true || (a.exact === true && b.exact === true) };
};

const arith = (op: string, a: Iv, b: Iv): Iv => {
  switch (op) {
    case '+': return { lo: a.lo + b.lo, hi: a.hi + b.hi, nan: false, val: true };
    case '-': return { lo: a.lo - b.hi, hi: a.hi - b.lo, nan: false, val: true };
    case '*': {
      const p = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
      if (p.some((x) => x !== x)) return { ...ANY, nan: false };
      return { lo: Math.min(...p), hi: Math.max(...p), nan: false, val: true };
    }
    case '/': {
      // A division by zero is no datapoint (math.ts); near zero, anything.
      if (b.lo === 0 && b.hi === 0) return NO_DATA;
      if (b.lo <= 0 && b.hi >= 0) return ANY;
      const p = [a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi];
      return { lo: Math.min(...p), hi: Math.max(...p), nan: false, val: true };
    }
    case 'AND': {
      const x = nonZero(a);
      const y = nonZero(b);
      return truth(x === 0 || y === 0 ? 0 : x === 1 && y === 1 ? 1 : 2);
    }
    case 'OR': {
      const x = nonZero(a);
      const y = nonZero(b);
      return truth(x === 1 || y === 1 ? 1 : x === 0 && y === 0 ? 0 : 2);
    }
  }
  return truth(compare(op, a, b));
};

/** Compiles a metric-math expression to its bounds; `ref` resolves a query id to the bounds of its series. */
export const compileBounds = (src: string, ref: (id: string) => IvSeries): IvSeries => {
  const c = (n: Node): IvSeries => {
    switch (n.k) {
      case 'num': {
        const v = point(n.v);
        return () => v;
      }
      case 'ref':
        return ref(n.id);
      case 'neg': {
        const a = c(n.a);
        return (b) => {
          const x = a(b);
          return { ...x, lo: -x.hi, hi: -x.lo };
        };
      }
      case 'not': {
        const a = c(n.a);
        return (b) => {
          const x = a(b);
          if (!x.val) return NO_DATA;
          const z = nonZero(x);
          return { ...truth(z === 2 ? 2 : z === 1 ? 0 : 1), nan: x.nan };
        };
      }
      case 'bin': {
        const a = c(n.a);
        const b = c(n.b);
        const op = n.op;
        return (k) => both(a(k), b(k), (x, y) => arith(op, x, y));
      }
      case 'call':
        return call(n.fn, n.args);
      default:
        return () => ANY;
    }
  };
  const call = (fn: string, args: Node[]): IvSeries => {
    if (fn === 'IF' && (args.length === 2 || args.length === 3)) {
      const cond = c(args[0]!);
      const a = c(args[1]!);
      const b = args[2] ? c(args[2]) : () => NO_DATA;
      return (k) => {
        const x = cond(k);
        if (!x.val) return NO_DATA;
        const z = nonZero(x);
        const r = z === 1 ? a(k) : z === 0 ? b(k) : union(a(k), b(k));
        return { ...r, nan: r.nan || x.nan };
      };
    }
    if (fn === 'FILL' && args.length === 2) {
      const a = c(args[0]!);
      const v = c(args[1]!);
      return (k) => {
        const x = a(k);
        if (!x.nan) return x;
        const filled = v(k);
        return x.val ? union({ ...x, nan: false }, filled) : filled;
      };
    }
    if (fn === 'ABS' && args.length === 1) {
      const a = c(args[0]!);
      return (k) => {
        const x = a(k);
        const lo = x.lo >= 0 ? x.lo : x.hi <= 0 ? -x.hi : 0;
        return { ...x, lo, hi: Math.max(Math.abs(x.lo), Math.abs(x.hi)) };
      };
    }
    if ((fn === 'MAX' || fn === 'MIN') && args.length === 1 && args[0]!.k === 'list') {
      const items = args[0].items.map(c);
      return (k) => {
        const xs = items.map((s) => s(k));
        const may = xs.filter((x) => x.val);
        if (may.length === 0) return NO_DATA;
        // The result is one of the items that are numbers: at least the largest (MAX) of those sure to be.
        const sure = may.filter((x) => !x.nan);
        const los = may.map((x) => x.lo);
        const his = may.map((x) => x.hi);
        const lo = fn === 'MAX' && sure.length > 0 ? Math.max(...sure.map((x) => x.lo)) : Math.min(...los);
        const hi = fn === 'MIN' && sure.length > 0 ? Math.min(...sure.map((x) => x.hi)) : Math.max(...his);
        return { lo, hi, nan: xs.every((x) => x.nan), val: true };
      };
    }
    return () => ANY;
  };
  return c(parse(src));
};

/** 0: no, 1: yes, 2: maybe. */
export type Tri = 0 | 1 | 2;

/** Whether a datapoint exists (a finite number: evaluate.ts) for every value of the bounds. */
export const existence = (x: Iv): Tri => {
  if (!x.val) return 0;
  const finite = Number.isFinite(x.lo) && Number.isFinite(x.hi);
  return !x.nan && finite ? 1 : 2;
};
