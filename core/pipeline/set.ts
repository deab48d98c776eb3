/**
 * The rules of a set of pipelines that share one control plane (one CDK app, one simulated
 * world): what no single pipeline's validation can see. The CLI (validate, simulate, plan,
 * console), the simulated world and the CDK app (synth) all apply this one function:
 * - each pipeline has its own name (names key the AWS resources);
 * - two names do not make the same construct id (`shop1` and `shop-1` both make `Shop1`);
 * - one team is spelled one way (`storefront` and `Storefront`, `store-front` and
 *   `store_front` make the same construct ids in a region's stack);
 * - a service has one pipeline per kind, and two kinds never share a fleet (kinds.ts).
 */
import { constructIdOf } from '../naming.ts';
import { kindConflicts, type KindedPipeline } from './kinds.ts';

export interface SetPipeline extends KindedPipeline {
  readonly team: string;
}

/** A problem of the set: the pipeline it is reported on (its index in the list given), the field, the message. */
export interface SetProblem {
  readonly index: number;
  readonly path: 'name' | 'team' | 'kind';
  readonly message: string;
}

const described = (p: SetPipeline): string => (p.source !== undefined && p.source !== p.name ? `'${p.name}' (${p.source})` : `'${p.name}'`);

/** Every problem of the set, each reported once, on the later pipeline of the pair. */
export const pipelineSetProblems = (pipelines: readonly SetPipeline[]): SetProblem[] => {
  const problems: SetProblem[] = [];
  const byName = new Map<string, number>();
  const byNameId = new Map<string, number>();
  const teamById = new Map<string, { team: string; index: number }>();
  const teamReported = new Set<string>();
  pipelines.forEach((p, index) => {
    const same = byName.get(p.name);
    if (same !== undefined) {
      problems.push({ index, path: 'name', message: `pipeline name '${p.name}' is also used by ${described(pipelines[same]!)}; each pipeline needs its own name (names key the AWS resources)` });
    } else {
      byName.set(p.name, index);
      const id = constructIdOf(p.name);
      const alike = byNameId.get(id);
      if (alike !== undefined) {
        const q = pipelines[alike]!;
        problems.push({
          index,
          path: 'name',
          message: `pipeline names '${q.name}' and '${p.name}' make the same resource ids ('${id}'): synth cannot tell them apart; rename ${described(p)} (e.g. '${p.name.replace(/-/g, '')}x')`,
        });
      } else byNameId.set(id, index);
    }
    const teamId = constructIdOf(p.team);
    const team = teamById.get(teamId);
    if (team === undefined) teamById.set(teamId, { team: p.team, index });
    else if (team.team !== p.team && !teamReported.has(`${team.team}\u0000${p.team}`)) {
      teamReported.add(`${team.team}\u0000${p.team}`);
      problems.push({
        index,
        path: 'team',
        message: `team '${p.team}' of ${described(p)} and team '${team.team}' of ${described(pipelines[team.index]!)} make the same resource ids (the team's aggregate alarms): spell the team '${team.team}' in both, or give the teams names that differ in more than case and '-'/'_'`,
      });
    }
  });
  for (const c of kindConflicts(pipelines)) problems.push({ index: c.index, path: 'kind', message: c.message });
  return problems;
};
