/**
 * The region machine's first states: it checks who it is asked to run for against its own
 * definition, and takes everything else from that definition.
 *
 * Design: the region machine's definition is written at deploy time from the same resolved
 * pipeline as the pipeline machine, and no execution can change it. So the definition
 * itself is the stored copy of the pipeline: it holds, for every (wave, region) of the
 * pipeline, the region's units, deployment groups, metric scopes and alarms (its bakes are
 * constants of the bake states already). An execution's input only says which change to
 * run where: `pipeline`, `stage`, `region`, `change`, `revision`. The first Choice accepts
 * exactly the (pipeline, stage, region) triples of the definition and then REPLACES the
 * rest of the input with the definition's plan for that region, so a caller cannot shrink
 * the units, point at other deployment groups or drop an alarm (a deployment unwatched).
 * Anything else fails the execution with `RegionInputRejected` and the reason, before any
 * step runs. IAM is the first line (only the pipeline machine's role may start it); this is
 * the second, and it needs no table and no handler: nothing to read, nothing to fail open.
 */
import type { ResolvedPipeline } from '../core/model.ts';
import { regionItem } from './alarms.ts';
import type { State, States } from './asl.ts';

export const REGION_INPUT_PRESENT = 'Region.CheckInput';
const MATCH = 'Region.MatchDefinition';
const REJECT_MISSING = 'Region.InputMissing';
const REJECT_MISMATCH = 'Region.InputMismatch';
const REJECTED = 'Region.InputRejected';
export const REGION_INPUT_REJECTED_ERROR = 'RegionInputRejected';

/** What the input must carry (strings): the rest comes from the definition. */
const REQUIRED = ['pipeline', 'change', 'revision', 'stage', 'region'] as const;

/**
 * Adds the check to `states` and returns its first state; a match goes on to `next` with
 * the input rebuilt from the definition.
 */
export const regionInputStates = (states: States, p: ResolvedPipeline, next: string): string => {
  const runs = p.waves.flatMap((w) => w.regions.map((r) => ({ stage: w.name, region: r })));
  const known = runs.map((x) => `${x.stage}/${x.region.region}`).join(', ');

  states[REGION_INPUT_PRESENT] = {
    Type: 'Choice',
    Choices: [
      {
        And: REQUIRED.flatMap((f): State[] => [
          { Variable: `$.${f}`, IsPresent: true },
          { Variable: `$.${f}`, IsString: true },
        ]),
        Next: MATCH,
      },
    ],
    Default: REJECT_MISSING,
  };
  states[MATCH] = {
    Type: 'Choice',
    Choices: runs.map(({ stage, region }) => ({
      And: [
        { Variable: '$.pipeline', StringEquals: p.name },
        { Variable: '$.stage', StringEquals: stage },
        { Variable: '$.region', StringEquals: region.region },
      ],
      Next: planId(stage, region.region),
    })),
    Default: REJECT_MISMATCH,
  };
  for (const { stage, region } of runs) {
    states[planId(stage, region.region)] = {
      Type: 'Pass',
      // The input from here on: the change from the input, the rest from the definition.
      Parameters: {
        pipeline: p.name,
        'change.$': '$.change',
        'revision.$': '$.revision',
        stage,
        ...regionItem(p, region),
      } as State,
      // No ResultPath: the default ('$') replaces the input with the plan.
      Next: next,
    };
  }
  states[REJECT_MISSING] = {
    Type: 'Pass',
    Parameters: {
      Error: REGION_INPUT_REJECTED_ERROR,
      Cause: `the region machine of pipeline '${p.name}' needs the strings ${REQUIRED.join(', ')} in its input; it is started by the pipeline machine only`,
    },
    ResultPath: '$.error',
    Next: REJECTED,
  };
  states[REJECT_MISMATCH] = {
    Type: 'Pass',
    Parameters: {
      Error: REGION_INPUT_REJECTED_ERROR,
      'Cause.$': `States.Format('the region machine of pipeline ${escape(p.name)} was asked to run pipeline {}, stage {}, region {}, which its definition does not hold; it runs only ${escape(known)}', $.pipeline, $.stage, $.region)`,
    },
    ResultPath: '$.error',
    Next: REJECTED,
  };
  states[REJECTED] = { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' };
  return REGION_INPUT_PRESENT;
};

const planId = (stage: string, region: string): string => `Region.Plan.${stage}.${region}`;

/** Text inside a States.Format literal: quotes, braces and backslashes escaped. */
const escape = (s: string): string => s.replace(/[\\'{}]/g, (c) => `\\${c}`);
