/**
 * The central region catalog: one list of every commercial AWS region that handsoff can
 * deploy to, with its AZ ids, its IANA time zone (deployment windows are evaluated in the
 * region's own local time) and a relative traffic weight.
 *
 * The wave planner derives the default wave plan from this list, so a region added here
 * lands in every `waves: "auto"` pipeline without editing any pipeline. Weights are
 * relative (us-east-1 = 100) and only their order matters to the planner; the simulator
 * also uses them to scale each region's request rate.
 *
 * AZ ids (not AZ names) are used because they name the same physical zone in every account.
 */
import type { RegionInfo } from '../../core/model.ts';

/** Build the AZ ids `prefix-az<n>` for the given zone numbers. */
const azs = (prefix: string, ...numbers: number[]): readonly string[] =>
  Object.freeze(numbers.map((n) => `${prefix}-az${n}`));

const region = (
  code: string,
  name: string,
  azIds: readonly string[],
  timeZone: string,
  traffic: number,
): RegionInfo => Object.freeze({ code, name, azIds, timeZone, traffic });

export const REGION_CATALOG: readonly RegionInfo[] = Object.freeze([
  // North America
  region('us-east-1', 'US East (N. Virginia)', azs('use1', 1, 2, 3, 4, 5, 6), 'America/New_York', 100),
  region('us-east-2', 'US East (Ohio)', azs('use2', 1, 2, 3), 'America/New_York', 34),
  region('us-west-1', 'US West (N. California)', azs('usw1', 1, 3), 'America/Los_Angeles', 12),
  region('us-west-2', 'US West (Oregon)', azs('usw2', 1, 2, 3, 4), 'America/Los_Angeles', 48),
  region('ca-central-1', 'Canada (Central)', azs('cac1', 1, 2, 4), 'America/Toronto', 11),
  region('ca-west-1', 'Canada West (Calgary)', azs('caw1', 1, 2, 3), 'America/Edmonton', 2.2),
  region('mx-central-1', 'Mexico (Central)', azs('mxc1', 1, 2, 3), 'America/Mexico_City', 1.6),
  // South America
  region('sa-east-1', 'South America (Sao Paulo)', azs('sae1', 1, 2, 3), 'America/Sao_Paulo', 9),
  // Europe
  region('eu-west-1', 'Europe (Ireland)', azs('euw1', 1, 2, 3), 'Europe/Dublin', 42),
  region('eu-west-2', 'Europe (London)', azs('euw2', 1, 2, 3), 'Europe/London', 17),
  region('eu-west-3', 'Europe (Paris)', azs('euw3', 1, 2, 3), 'Europe/Paris', 7.5),
  region('eu-central-1', 'Europe (Frankfurt)', azs('euc1', 1, 2, 3), 'Europe/Berlin', 30),
  region('eu-central-2', 'Europe (Zurich)', azs('euc2', 1, 2, 3), 'Europe/Zurich', 3),
  region('eu-north-1', 'Europe (Stockholm)', azs('eun1', 1, 2, 3), 'Europe/Stockholm', 6.5),
  region('eu-south-1', 'Europe (Milan)', azs('eus1', 1, 2, 3), 'Europe/Rome', 3.5),
  region('eu-south-2', 'Europe (Spain)', azs('eus2', 1, 2, 3), 'Europe/Madrid', 2.8),
  // Middle East and Africa
  region('il-central-1', 'Israel (Tel Aviv)', azs('ilc1', 1, 2, 3), 'Asia/Jerusalem', 2.5),
  region('me-south-1', 'Middle East (Bahrain)', azs('mes1', 1, 2, 3), 'Asia/Bahrain', 2.4),
  region('me-central-1', 'Middle East (UAE)', azs('mec1', 1, 2, 3), 'Asia/Dubai', 2.6),
  region('af-south-1', 'Africa (Cape Town)', azs('afs1', 1, 2, 3), 'Africa/Johannesburg', 2),
  // Asia Pacific
  region('ap-south-1', 'Asia Pacific (Mumbai)', azs('aps1', 1, 2, 3), 'Asia/Kolkata', 15),
  region('ap-south-2', 'Asia Pacific (Hyderabad)', azs('aps2', 1, 2, 3), 'Asia/Kolkata', 2.7),
  region('ap-east-1', 'Asia Pacific (Hong Kong)', azs('ape1', 1, 2, 3), 'Asia/Hong_Kong', 4),
  region('ap-east-2', 'Asia Pacific (Taipei)', azs('ape2', 1, 2, 3), 'Asia/Taipei', 1.8),
  region('ap-northeast-1', 'Asia Pacific (Tokyo)', azs('apne1', 1, 2, 4), 'Asia/Tokyo', 28),
  region('ap-northeast-2', 'Asia Pacific (Seoul)', azs('apne2', 1, 2, 3, 4), 'Asia/Seoul', 10),
  region('ap-northeast-3', 'Asia Pacific (Osaka)', azs('apne3', 1, 2, 3), 'Asia/Tokyo', 3.2),
  region('ap-southeast-1', 'Asia Pacific (Singapore)', azs('apse1', 1, 2, 3), 'Asia/Singapore', 19),
  region('ap-southeast-2', 'Asia Pacific (Sydney)', azs('apse2', 1, 2, 3), 'Australia/Sydney', 18),
  region('ap-southeast-3', 'Asia Pacific (Jakarta)', azs('apse3', 1, 2, 3), 'Asia/Jakarta', 3.1),
  region('ap-southeast-4', 'Asia Pacific (Melbourne)', azs('apse4', 1, 2, 3), 'Australia/Melbourne', 2.9),
  region('ap-southeast-5', 'Asia Pacific (Malaysia)', azs('apse5', 1, 2, 3), 'Asia/Kuala_Lumpur', 1.9),
  region('ap-southeast-6', 'Asia Pacific (New Zealand)', azs('apse6', 1, 2, 3), 'Pacific/Auckland', 1.5),
  region('ap-southeast-7', 'Asia Pacific (Thailand)', azs('apse7', 1, 2, 3), 'Asia/Bangkok', 1.7),
]);

const BY_CODE: ReadonlyMap<string, RegionInfo> = new Map(REGION_CATALOG.map((r) => [r.code, r]));

/** The catalog entry of a region code, or `undefined` when the catalog does not know it. */
export function regionInfo(code: string): RegionInfo | undefined;
export function regionInfo(code: string, catalog: readonly RegionInfo[]): RegionInfo | undefined;
export function regionInfo(code: string, catalog?: readonly RegionInfo[]): RegionInfo | undefined {
  if (catalog === undefined || catalog === REGION_CATALOG) return BY_CODE.get(code);
  return catalog.find((r) => r.code === code);
}

/** Like {@link regionInfo}, but throws a named error for an unknown code (for code that already validated its input). */
export function requireRegionInfo(code: string, catalog: readonly RegionInfo[] = REGION_CATALOG): RegionInfo {
  const info = regionInfo(code, catalog);
  if (info === undefined) {
    throw new UnknownRegionError(code, catalog.map((r) => r.code));
  }
  return info;
}

export class UnknownRegionError extends Error {
  override readonly name = 'UnknownRegionError';
  constructor(
    readonly region: string,
    readonly known: readonly string[],
  ) {
    super(`region '${region}' is not in the region catalog; known: ${known.join(', ')}`);
  }
}

/** Region codes of the catalog, in catalog order. */
export const regionCodes = (catalog: readonly RegionInfo[] = REGION_CATALOG): string[] => catalog.map((r) => r.code);

/**
 * Short prefix of a region's AZ ids (`use1` for us-east-1), used to name cells
 * (`use1-cell1`).
 */
