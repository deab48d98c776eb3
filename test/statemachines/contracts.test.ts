import { describe, expect, it } from 'vitest';
import type { ResolvedPipeline } from '../../core/model.ts';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { examplePipelines } from '../../infra/pipelines/index.ts';
import { payloadProblems } from '../../statemachines/contracts.ts';
import { buildStateMachines } from '../../statemachines/index.ts';
import { functionArnKey, HandlerName, placeholder, TaskHandlers } from '../../statemachines/resources.ts';

const resolved: ResolvedPipeline[] = (examplePipelines as unknown[]).map((p) => {
  const v = validatePipeline(p, 'example', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(v.problems.map((x) => x.message).join('; '));
  return v.pipeline;
});
const noOneBox = { ...resolved[0]!, oneBox: false };

/** Every Lambda task of a definition, nested Map states included, with the handler it invokes. */
const lambdaTasks = (def: any, out: Array<{ state: string; handler: string; payload: unknown }> = []) => {
  for (const [state, s] of Object.entries<any>(def.States)) {
    if (s.Type === 'Map') lambdaTasks(s.ItemProcessor ?? s.Iterator, out);
    if (s.Type !== 'Task' || !String(s.Resource).includes(':lambda:invoke')) continue;
    const handler = TaskHandlers.find((h) => s.Parameters.FunctionName === placeholder(functionArnKey(h)));
    out.push({ state, handler: handler ?? String(s.Parameters.FunctionName), payload: s.Parameters.Payload });
  }
  return out;
};

describe('payload contracts between the state machines and the handlers', () => {
  it.each([...resolved, noOneBox].map((p) => [p.name + (p.oneBox ? '' : ' (no one-box)'), p] as const))(
    '%s: every Lambda task sends exactly what its handler parses',
    (_name, p) => {
      const defs = buildStateMachines(p);
      const tasks = [...lambdaTasks(defs.pipeline), ...lambdaTasks(defs.region)];
      expect(tasks.length).toBeGreaterThan(10);
      const wrong = tasks.map((t) => ({ state: t.state, problems: payloadProblems(t.handler as never, t.payload) })).filter((t) => t.problems.length > 0);
      expect(wrong).toEqual([]);
      // Every handler a state machine may invoke is invoked somewhere, with a contract.
      expect(new Set(tasks.map((t) => t.handler))).toEqual(new Set(TaskHandlers));
    },
  );

  it('names a field the handler does not know and a required field the machine does not send', () => {
    const problems = payloadProblems(HandlerName.START_DEPLOYMENT, {
      'pipeline.$': '$.pipeline',
      'change.$': '$.change',
      'stage.$': '$.stage',
      'region.$': '$.region',
      'taskToken.$': '$$.Task.Token',
      'revision.$': '$.revision',
      application: 'storefront-api',
      'deploymentGroups.$': '$.group',
      alarms: ['a'],
    });
    expect(problems).toEqual([
      expect.stringContaining("'deploymentGroups' is not a field of the start-deployment contract"),
      "required field 'deploymentGroup' of the start-deployment contract is not sent",
    ]);
  });

  it('tells the forms of a union contract apart by their literal field', () => {
    expect(payloadProblems(HandlerName.LANE, { action: 'release', 'pipeline.$': '$.pipeline', 'change.$': '$.change', stages: ['beta'] })).toEqual([]);
    expect(payloadProblems(HandlerName.LANE, { action: 'release', 'pipeline.$': '$.pipeline', 'change.$': '$.change', stage: 'beta' })).toEqual([
      expect.stringContaining("'stage' is not a field of the lane contract"),
      "required field 'stages' of the lane contract is not sent",
    ]);
    expect(payloadProblems(HandlerName.LANE, { action: 'jump', pipeline: 'p' })).toEqual(['the payload matches none of the forms of the lane contract']);
  });
});
