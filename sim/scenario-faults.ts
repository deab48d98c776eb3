/**
 * The `fault` events of a scenario (docs/simulation.md, "Faults"): their schema, the checks that
 * relate them to the run (handler names, regions, times) and their resolution to the
 * engine's FaultSpec. scenario.ts holds them in its event union.
 */
import { z } from 'zod';
import { HandlerName } from '../statemachines/resources.ts';
import { showValue } from '../core/pipeline/resolve.ts';
import { DUPLICATED_SOURCES, LOST_SOURCES, THROTTLED_SERVICES, type FaultSpec } from './faults.ts';

const HANDLERS = Object.values(HandlerName) as string[];
const rate = () => z.number().min(0).max(1);

/** The schema of a fault event; `time` is the scenario's ISO time validator. */
export const faultEventSchema = (time: () => z.ZodType<string>) =>
  z.discriminatedUnion('fault', [
    z.object({ at: time(), kind: z.literal('fault'), fault: z.literal('throttle'), service: z.enum(THROTTLED_SERVICES), rate: rate(), until: time() }).strict(),
    z.object({ at: time(), kind: z.literal('fault'), fault: z.literal('crash'), handler: z.string().min(1), rate: rate(), until: time() }).strict(),
    z.object({ at: time(), kind: z.literal('fault'), fault: z.literal('duplicate-events'), source: z.enum(DUPLICATED_SOURCES), until: time() }).strict(),
    z.object({ at: time(), kind: z.literal('fault'), fault: z.literal('lose-events'), source: z.enum(LOST_SOURCES), until: time() }).strict(),
    z.object({ at: time(), kind: z.literal('fault'), fault: z.literal('delete-alarm'), region: z.string().min(1), alarm: z.string().min(1) }).strict(),
  ]);

export type FaultEventJson = z.output<ReturnType<typeof faultEventSchema>>;

const FAULTS = ['throttle', 'crash', 'duplicate-events', 'lose-events', 'delete-alarm'];

/**
 * Checks of a fault event beyond its shape: a known fault, a handler that exists, an
 * `until` after `at`, a region of the catalog. `add(field, message)` reports one problem.
 */
export const faultProblems = (
  event: Record<string, unknown>,
  add: (field: string, message: string) => void,
  parseTime: (value: unknown) => number | undefined,
  checkRegion: (field: string, region: unknown) => void,
): void => {
  if (event.fault === undefined) {
    add('fault', `missing required field 'fault'; add it (one of ${FAULTS.map((f) => `'${f}'`).join(', ')})`);
    return;
  }
  if (event.fault === 'crash' && typeof event.handler === 'string' && event.handler !== 'any' && !HANDLERS.includes(event.handler)) {
    add('handler', `handler '${event.handler}' is not a handsoff handler; use 'any' or one of ${HANDLERS.join(', ')}`);
  }
  if (event.fault === 'delete-alarm') checkRegion('region', event.region);
  const at = parseTime(event.at);
  const until = parseTime(event.until);
  if (at !== undefined && until !== undefined && until <= at) {
    add('until', `${String(event.fault)} fault until ${showValue(event.until)} is not after at ${showValue(event.at)}; set until later than at`);
  }
};

/** A validated fault event as the engine runs it (times in epoch ms). */
export const resolveFault = (e: FaultEventJson, ms: (iso: string) => number): FaultSpec => {
  const at = ms(e.at);
  switch (e.fault) {
    case 'throttle':
      return { fault: e.fault, at, until: ms(e.until), service: e.service, rate: e.rate };
    case 'crash':
      return { fault: e.fault, at, until: ms(e.until), handler: e.handler, rate: e.rate };
    case 'duplicate-events':
      return { fault: e.fault, at, until: ms(e.until), source: e.source };
    case 'lose-events':
      return { fault: e.fault, at, until: ms(e.until), source: e.source };
    case 'delete-alarm':
      return { fault: e.fault, at, region: e.region, alarm: e.alarm };
  }
};
