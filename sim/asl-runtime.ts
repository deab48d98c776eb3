/**
 * The ASL interpreter the simulator runs the definitions in (aws-local-stepfunctions), ready
 * on Node 20: version 3 uses Promise.withResolvers (Node 22), which this module supplies
 * where it is missing. A task's TimeoutSeconds beyond Node's timer limit (24.8 days) is
 * honoured on the real clock too (sim/clock.ts). Import the interpreter from here, never from
 * the package directly.
 */
import { honourLongRealTimers } from './clock.ts';

honourLongRealTimers();
if (!(Promise as unknown as { withResolvers?: unknown }).withResolvers) {
  (Promise as unknown as { withResolvers: () => unknown }).withResolvers = function withResolvers<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
