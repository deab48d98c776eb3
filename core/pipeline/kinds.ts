/**
 * A pipeline per kind of change: a service has at most one pipeline of each kind (app,
 * infra, config, os, tools). The one rule that the CLI (validate, simulate, plan, serve), the
 * simulated world and the CDK app (synth) all apply to the pipelines they are given.
 */
import { PipelineKinds, type PipelineKind } from '../model.ts';
import { fleetService } from '../naming.ts';

/** What the rule needs of a pipeline, and where it was defined (a file, `app#name`). */
export interface KindedPipeline {
  readonly name: string;
  readonly service: string;
  readonly kind: PipelineKind;
  /** Where the pipeline is defined, for the message. @default - its name only */
  readonly source?: string;
}

/** A second pipeline of a kind a service already has. */
export interface KindConflict {
  /** Index (in the list given) of the pipeline refused. */
  readonly index: number;
  /** Index of the first pipeline of that service and kind. */
  readonly first: number;
  readonly message: string;
}

const described = (p: KindedPipeline): string => (p.source !== undefined && p.source !== p.name ? `'${p.name}' (${p.source})` : `'${p.name}'`);

/**
 * Every pipeline that repeats the kind of an earlier pipeline of its service, with a message
 * naming both pipelines, the service, the kind and the fix.
 */
export const kindConflicts = (pipelines: readonly KindedPipeline[]): KindConflict[] => {
  const firstOf = new Map<string, number>();
  const fleetOf = new Map<string, number>();
  const conflicts: KindConflict[] = [];
  pipelines.forEach((p, index) => {
    const key = `${p.service}\u0000${p.kind}`;
    const first = firstOf.get(key);
    if (first === undefined) {
      firstOf.set(key, index);
      // Another service and kind that names the same fleet (`ShopApi-config` app and `ShopApi` config):
      // both would deploy to the instances tagged with it and read the same metrics.
      const fleet = fleetService(p);
      const other = fleetOf.get(fleet);
      if (other === undefined) fleetOf.set(fleet, index);
      else {
        const q = pipelines[other]!;
        conflicts.push({
          index,
          first: other,
          message:
            `pipelines ${described(q)} ('${q.kind}' of service '${q.service}') and ${described(p)} ('${p.kind}' of service '${p.service}') ` +
            `would deploy to one fleet, '${fleet}' (the instances tagged Service=${fleet}, and the metrics and alarms of that service): ` +
            `give '${p.name}' a service name that no other pipeline's fleet uses`,
        });
      }
      return;
    }
    const taken = new Set(pipelines.filter((q) => q.service === p.service).map((q) => q.kind));
    const free = PipelineKinds.filter((k) => !taken.has(k));
    conflicts.push({
      index,
      first,
      message:
        `pipelines ${described(pipelines[first]!)} and ${described(p)} are both '${p.kind}' pipelines of service '${p.service}'; ` +
        `a service has one pipeline per kind (${PipelineKinds.join(', ')}): ` +
        (free.length > 0 ? `set "kind" of '${p.name}' to the kind of change it ships (${free.join(', ')}), ` : '') +
        `merge the two pipelines, or give '${p.name}' the service it deploys`,
    });
  });
  return conflicts;
};

/**
 * Name of a service's pipeline of `kind`, derived from the name of its app pipeline: the app
 * pipeline keeps it (`storefront-api`), the others append their kind (`storefront-api-config`).
 */
export const kindPipelineName = (appName: string, kind: PipelineKind): string => (kind === 'app' ? appName : `${appName}-${kind}`);
