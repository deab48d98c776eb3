/**
 * The timeline's time axis: linear while something runs (deployments, bakes, rollbacks,
 * instants), and a fixed short break for every quiet gap longer than GAP_MS (a night's
 * time-window wait, a lane queue), labelled with the time it stands for. So a week-long
 * rollout fits a screen and a 30-minute bake stays readable; spans that cross a break
 * (a long block) are drawn across it.
 */
import { duration } from './svg.ts';

export const GAP_MS = 45 * 60_000;
export const BREAK_PX = 84;
const MIN_PX_PER_HOUR = 24;
const MAX_PX_PER_HOUR = 480;

export interface Piece {
  t0: number;
  t1: number;
  x0: number;
  x1: number;
  /** A compressed gap. */
  gap: boolean;
}

export interface TimeAxis {
  pieces: Piece[];
  width: number;
  x(ms: number): number;
}

/** Merged intervals of activity, sorted. */
const merge = (intervals: Array<[number, number]>): Array<[number, number]> => {
  const sorted = intervals.map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a - last[1] <= GAP_MS) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
};

/**
 * An axis from `startMs` to `endMs` whose linear parts cover `active` (intervals and
 * instants), about `targetWidth` pixels wide (wider when the activity needs it).
 */
export const timeAxis = (startMs: number, endMs: number, active: Array<[number, number]>, targetWidth: number): TimeAxis => {
  const runs = merge([...active, [startMs, startMs] as [number, number], [endMs, endMs] as [number, number]].filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b)));
  const gaps = runs.length - 1;
  const activeMs = Math.max(runs.reduce((n, [a, b]) => n + (b - a), 0), 60_000);
  const perHour = Math.min(MAX_PX_PER_HOUR, Math.max(MIN_PX_PER_HOUR, ((targetWidth - gaps * BREAK_PX) / activeMs) * 3_600_000));
  const perMs = perHour / 3_600_000;
  const pieces: Piece[] = [];
  let x = 0;
  runs.forEach(([a, b], i) => {
    const w = Math.max((b - a) * perMs, 6);
    pieces.push({ t0: a, t1: b, x0: x, x1: x + w, gap: false });
    x += w;
    const next = runs[i + 1];
    if (next) {
      pieces.push({ t0: b, t1: next[0], x0: x, x1: x + BREAK_PX, gap: true });
      x += BREAK_PX;
    }
  });
  const at = (ms: number): number => {
    if (pieces.length === 0) return 0;
    if (ms <= pieces[0]!.t0) return pieces[0]!.x0;
    for (const p of pieces) {
      if (ms <= p.t1) return p.t1 === p.t0 ? p.x0 : p.x0 + ((ms - p.t0) / (p.t1 - p.t0)) * (p.x1 - p.x0);
    }
    return pieces[pieces.length - 1]!.x1;
  };
  return { pieces, width: x, x: at };
};

const STEPS_MS = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * 60_000);

/** Tick times inside the linear pieces (at least `minPx` apart), and each break's label. */
export const ticks = (axis: TimeAxis, minPx = 64): { at: number[]; breaks: Array<{ x: number; label: string }> } => {
  const at: number[] = [];
  for (const p of axis.pieces.filter((q) => !q.gap)) {
    const perMs = p.t1 > p.t0 ? (p.x1 - p.x0) / (p.t1 - p.t0) : 0;
    at.push(p.t0);
    if (perMs === 0) continue;
    const step = STEPS_MS.find((s) => s * perMs >= minPx) ?? STEPS_MS[STEPS_MS.length - 1]!;
    for (let t = Math.ceil(p.t0 / step) * step; t < p.t1; t += step) {
      if ((t - p.t0) * perMs >= minPx * 0.8 && (p.t1 - t) * perMs >= 8) at.push(t);
    }
  }
  const breaks = axis.pieces.filter((p) => p.gap).map((p) => ({ x: (p.x0 + p.x1) / 2, label: `+${duration(p.t1 - p.t0).replace(' min', 'm').replace(/ h/g, 'h').replace(/ d/g, 'd')}` }));
  return { at, breaks };
};
