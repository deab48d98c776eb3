/**
 * The console's local backend: the simulator, live (sim/live.ts). Virtual time starts at the
 * scenario's `start` and follows the wall clock at `speed` virtual seconds per real second
 * until `until`; the scenario's events happen at their times; what people do in the console
 * goes to the operator handler at the virtual time they do it, like the scenario's
 * `override` and `emergency-*` events. One live run per process (the simulator's clock and
 * clients are the process's).
 */
import type { HandsoffEvent } from '../core/events.ts';
import type { ResolvedPipeline } from '../core/model.ts';
import type { OperatorAction, OperatorResult } from '../core/operators.ts';
import { simulate, type SimScenario, type SimulationResult } from '../sim/engine.ts';
import { LiveControl } from '../sim/live.ts';
import type { Caller, ConsoleBackend } from './api.ts';
import { localIdentity, type Identify } from './identity.ts';
import { foldChange, foldState, pipelineView } from './state.ts';

export interface LocalConsoleOptions {
  pipelines: ResolvedPipeline[];
  scenario: SimScenario;
  /** The scenario's approvers group. */
  approvers: readonly string[];
  /** Virtual seconds per real second. @default 600 */
  speed?: number;
  /** Start paused. @default false */
  paused?: boolean;
}

export interface LocalConsole {
  backend: ConsoleBackend;
  identify: Identify;
  control: LiveControl;
  /** Settles when the run is over (at `until`, or after `stop()`); rejects when it crashed. */
  done: Promise<SimulationResult>;
  /** Ends the run now and waits for it to close (its local DynamoDB included). */
  stop(): Promise<void>;
}

export const startLocalConsole = (opts: LocalConsoleOptions): LocalConsole => {
  const control = new LiveControl({ speed: opts.speed ?? 600, paused: opts.paused ?? false });
  const events: HandsoffEvent[] = [];
  const listeners = new Set<(event: HandsoffEvent, index: number) => void>();
  const pipelines = opts.pipelines.map(pipelineView);
  const onEvent = (e: HandsoffEvent): void => {
    events.push(e);
    for (const l of listeners) {
      try {
        l(e, events.length - 1);
      } catch (err) {
        process.stderr.write(`handsoff console: an event listener failed: ${(err as Error).message}\n`);
      }
    }
  };
  const done = simulate({ pipelines: opts.pipelines, scenario: opts.scenario, onEvent, live: control });
  // A crash is reported by whoever awaits `done`; the backend keeps answering from what it saw.
  done.catch(() => undefined);
  const nowMs = (): number => {
    const now = control.now();
    return Number.isNaN(now) ? opts.scenario.start : now;
  };

  const backend: ConsoleBackend = {
    kind: 'local',
    state: async () => foldState({ events, pipelines, nowMs: nowMs() }),
    change: async (id) => foldChange(events, id),
    act: async (action: OperatorAction, _caller: Caller): Promise<OperatorResult> => {
      try {
        return await control.act(action);
      } catch (e) {
        const err = e as Error;
        // The handler refused its input before doing anything (its contract, zod).
        if (err.name === 'InvalidInputError') return { status: 400, error: err.message, reason: 'invalid-request', problems: [] };
        throw err;
      }
    },
    events: async () => [...events],
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    clock: async (change) => {
      const pace = control.setPace(change);
      return { speed: pace.speed, paused: pace.paused, now: new Date(Number.isNaN(pace.now) ? nowMs() : pace.now).toISOString() };
    },
  };
  return {
    backend,
    identify: localIdentity(opts.approvers),
    control,
    done,
    stop: async () => {
      control.stop();
      await done.then(
        () => undefined,
        () => undefined,
      );
    },
  };
};
