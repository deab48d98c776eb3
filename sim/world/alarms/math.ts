/**
 * CloudWatch metric math, compiled once per alarm into a function of the minute: NaN is "no
 * datapoint". What the alarm plan uses, with CloudWatch's semantics:
 * - arithmetic (`+ - * /`, unary `-`) per timestamp; a datapoint missing in an operand is
 *   missing in the result, and so is a division by zero (no value);
 * - comparisons (`> >= < <= == !=`) and `AND`, `OR`, `NOT` give 1 or 0;
 * - `IF(condition, a, b)`: a where the condition is non-zero, else b; `IF(condition, a)`
 *   returns no datapoint where the condition is 0;
 * - `FILL(m, value)`: a missing datapoint of m becomes value;
 * - `MAX([...])`, `MIN([...])`, `ABS(m)`.
 * Anything else is refused when the alarm is built: the world never guesses.
 */

export type Series = (minute: number) => number;

type Token = { t: 'num'; v: number } | { t: 'id'; v: string } | { t: 'op'; v: string } | { t: 'str'; v: string };

const tokenize = (src: string): Token[] => {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[0-9.]/.test(c)) {
      const m = /^[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?/i.exec(src.slice(i))!;
      out.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else if (c === '"') {
      const end = src.indexOf('"', i + 1);
      if (end < 0) throw new Error(`unterminated string in '${src}'`);
      out.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
    } else {
      const two = src.slice(i, i + 2);
      if (['>=', '<=', '==', '!='].includes(two)) {
        out.push({ t: 'op', v: two });
        i += 2;
      } else if ('+-*/()<>,[]'.includes(c)) {
        out.push({ t: 'op', v: c });
        i++;
      } else throw new Error(`unexpected '${c}' in '${src}'`);
    }
  }
  return out;
};

export type Node =
  | { k: 'num'; v: number }
  | { k: 'ref'; id: string }
  | { k: 'str'; v: string }
  | { k: 'bin'; op: string; a: Node; b: Node }
  | { k: 'neg'; a: Node }
  | { k: 'not'; a: Node }
  | { k: 'call'; fn: string; args: Node[] }
  | { k: 'list'; items: Node[] };

/** Parsed expressions by source: the plan repeats the same few per region, and a tree is only read. */
const parsed = new Map<string, Node>();

/** Parses an expression (metric math, or a composite alarm rule: same operators). */
export const parse = (src: string): Node => {
  let node = parsed.get(src);
  if (!node) parsed.set(src, (node = parseOnce(src)));
  return node;
};

const parseOnce = (src: string): Node => {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (v: string) => peek()?.t === 'op' && peek()!.v === v;
  const isWord = (v: string) => { const t = peek(); return t?.t === 'id' && t.v.toUpperCase() === v; };
  const expect = (v: string) => {
    if (!isOp(v)) throw new Error(`expected '${v}' at token ${pos} of '${src}'`);
    pos++;
  };
  const or = (): Node => {
    let a = and();
    while (isWord('OR')) {
      pos++;
      a = { k: 'bin', op: 'OR', a, b: and() };
    }
    return a;
  };
  const and = (): Node => {
    let a = not();
    while (isWord('AND')) {
      pos++;
      a = { k: 'bin', op: 'AND', a, b: not() };
    }
    return a;
  };
  const not = (): Node => {
    if (isWord('NOT')) {
      pos++;
      return { k: 'not', a: not() };
    }
    return cmp();
  };
  const cmp = (): Node => {
    const a = add();
    const t = peek();
    if (t?.t === 'op' && ['>', '>=', '<', '<=', '==', '!='].includes(t.v)) {
      pos++;
      return { k: 'bin', op: t.v, a, b: add() };
    }
    return a;
  };
  const add = (): Node => {
    let a = mul();
    while (isOp('+') || isOp('-')) {
      const op = (tokens[pos++] as { v: string }).v;
      a = { k: 'bin', op, a, b: mul() };
    }
    return a;
  };
  const mul = (): Node => {
    let a = unary();
    while (isOp('*') || isOp('/')) {
      const op = (tokens[pos++] as { v: string }).v;
      a = { k: 'bin', op, a, b: unary() };
    }
    return a;
  };
  const unary = (): Node => {
    if (isOp('-')) {
      pos++;
      return { k: 'neg', a: unary() };
    }
    return primary();
  };
  const list = (close: string): Node[] => {
    const items: Node[] = [];
    if (!isOp(close)) {
      items.push(or());
      while (isOp(',')) {
        pos++;
        items.push(or());
      }
    }
    expect(close);
    return items;
  };
  const primary = (): Node => {
    const t = tokens[pos++];
    if (!t) throw new Error(`unexpected end of '${src}'`);
    if (t.t === 'num') return { k: 'num', v: t.v };
    if (t.t === 'str') return { k: 'str', v: t.v };
    if (t.t === 'op' && t.v === '(') {
      const e = or();
      expect(')');
      return e;
    }
    if (t.t === 'op' && t.v === '[') return { k: 'list', items: list(']') };
    if (t.t === 'id') {
      if (isOp('(')) {
        pos++;
        return { k: 'call', fn: t.v.toUpperCase(), args: list(')') };
      }
      return { k: 'ref', id: t.v };
    }
    throw new Error(`unexpected '${t.v}' in '${src}'`);
  };
  const node = or();
  if (pos !== tokens.length) throw new Error(`unexpected '${String((tokens[pos] as { v: unknown }).v)}' in '${src}'`);
  return node;
};

const bool = (x: boolean): number => (x ? 1 : 0);
const binary = (op: string): ((x: number, y: number) => number) => {
  switch (op) {
    case '+': return (x, y) => x + y;
    case '-': return (x, y) => x - y;
    case '*': return (x, y) => x * y;
    // CloudWatch returns no value for a division by zero.
    case '/': return (x, y) => (y === 0 ? Number.NaN : x / y);
    case '>': return (x, y) => bool(x > y);
    case '>=': return (x, y) => bool(x >= y);
    case '<': return (x, y) => bool(x < y);
    case '<=': return (x, y) => bool(x <= y);
    case '==': return (x, y) => bool(x === y);
    case '!=': return (x, y) => bool(x !== y);
    case 'AND': return (x, y) => bool(x !== 0 && y !== 0);
    case 'OR': return (x, y) => bool(x !== 0 || y !== 0);
  }
  throw new Error(`operator '${op}' is not supported`);
};

/** Compiles a metric-math expression; `ref` resolves a query id to its series. */
export const compileMath = (src: string, ref: (id: string) => Series): Series => {
  const c = (n: Node): Series => {
    switch (n.k) {
      case 'num': {
        const v = n.v;
        return () => v;
      }
      case 'ref':
        return ref(n.id);
      case 'neg': {
        const a = c(n.a);
        return (m) => -a(m);
      }
      case 'not': {
        const a = c(n.a);
        return (m) => {
          const x = a(m);
          return x !== x ? x : bool(x === 0);
        };
      }
      case 'bin': {
        const a = c(n.a);
        const b = c(n.b);
        // Specialised per operator (the minute tick runs these for every alarm): a missing
        // operand (NaN) stays missing.
        switch (n.op) {
          case '+': return (m) => a(m) + b(m);
          case '-': return (m) => a(m) - b(m);
          case '*': return (m) => a(m) * b(m);
          case '/': return (m) => {
            const y = b(m);
            return y === 0 ? Number.NaN : a(m) / y;
          };
        }
        const f = binary(n.op);
        return (m) => {
          const x = a(m);
          if (x !== x) return x;
          const y = b(m);
          return y !== y ? y : f(x, y);
        };
      }
      case 'call':
        return call(n.fn, n.args);
      default:
        throw new Error(`'${src}': ${n.k === 'str' ? 'strings' : 'lists'} are only function arguments here`);
    }
  };
  const call = (fn: string, args: Node[]): Series => {
    if (fn === 'IF' && (args.length === 2 || args.length === 3)) {
      const cond = c(args[0]!);
      const a = c(args[1]!);
      const b = args[2] ? c(args[2]) : () => Number.NaN;
      return (m) => {
        const x = cond(m);
        if (x !== x) return x;
        return x !== 0 ? a(m) : b(m);
      };
    }
    if (fn === 'FILL' && args.length === 2) {
      const a = c(args[0]!);
      const v = c(args[1]!);
      return (m) => {
        const x = a(m);
        return x !== x ? v(m) : x;
      };
    }
    if (fn === 'ABS' && args.length === 1) {
      const a = c(args[0]!);
      return (m) => Math.abs(a(m));
    }
    if ((fn === 'MAX' || fn === 'MIN') && args.length === 1 && args[0]!.k === 'list') {
      const items = args[0].items.map(c);
      const pick = fn === 'MAX' ? Math.max : Math.min;
      return (m) => {
        let out = Number.NaN;
        for (const s of items) {
          const x = s(m);
          if (x === x) out = out !== out ? x : pick(out, x);
        }
        return out;
      };
    }
    throw new Error(`'${src}': function ${fn} with ${args.length} argument(s) is not supported by the simulated CloudWatch`);
  };
  return c(parse(src));
};

/** The alarm states a composite rule reads. */
export type StateOf = (name: string) => 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' | undefined;

/**
 * Compiles a composite alarm rule: `ALARM("name")`, `OK("name")`, `INSUFFICIENT_DATA("name")`,
 * `TRUE`, `FALSE`, `AND`, `OR`, `NOT` and parentheses. `bind` resolves each named alarm once
 * to a reader of its state; one that does not exist is in no state: every state function is
 * false for it.
 */
export const compileRule = (src: string, bind: (name: string) => () => ReturnType<StateOf>): { test: () => boolean; names: string[] } => {
  const names: string[] = [];
  const c = (n: Node): (() => boolean) => {
    switch (n.k) {
      case 'ref':
        if (n.id.toUpperCase() === 'TRUE') return () => true;
        if (n.id.toUpperCase() === 'FALSE') return () => false;
        break;
      case 'not': {
        const a = c(n.a);
        return () => !a();
      }
      case 'bin': {
        const a = c(n.a);
        const b = c(n.b);
        if (n.op === 'AND') return () => a() && b();
        if (n.op === 'OR') return () => a() || b();
        break;
      }
      case 'call': {
        const arg = n.args[0];
        if (n.args.length === 1 && arg?.k === 'str' && ['ALARM', 'OK', 'INSUFFICIENT_DATA'].includes(n.fn)) {
          names.push(arg.v);
          const state = bind(arg.v);
          const want = n.fn;
          return () => state() === want;
        }
        break;
      }
    }
    throw new Error(`composite rule '${src}': unsupported term`);
  };
  return { test: c(parse(src)), names };
};
