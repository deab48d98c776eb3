/**
 * The storefront team's policy, shared by all of its services' pipelines: automatic waves
 * from the region catalog, docs/design.md's bakes, business hours in each region's own time and
 * the team's holiday calendar. A service extends this class and overrides only what differs;
 * `StorefrontTeamPipeline.forKinds(...)` gives a service one pipeline per kind of change.
 */
import { Bake, TeamPipeline, Waves, Window, type ServicePipelineProps, type TeamDefaults } from '../pipeline/definition.ts';

export const STOREFRONT_TEAM_DEFAULTS: TeamDefaults = {
  team: 'storefront',
  waves: Waves.auto(),
  bake: {
    oneBox: Bake.hours(1),
    firstWave: Bake.hours(12),
    laterWaves: Bake.hours(2),
    unit: Bake.minutes(30),
    preProd: Bake.minutes(30),
    minRequests: 100,
    emergencyFloor: Bake.minutes(10),
  },
  // Deploy when the people who can fix a regression are at work, and not before a weekend.
  window: Window.businessHours({ days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' }),
  holidays: ['2026-11-26', '2026-12-24', '2026-12-25', '2026-12-31', '2027-01-01'],
  kinds: {
    // An OS patch shows its faults slowly (a leak, a clock drift): a day in the first wave.
    os: { bake: { firstWave: Bake.hours(24) } },
  },
};

export class StorefrontTeamPipeline extends TeamPipeline {
  constructor(props: ServicePipelineProps) {
    super(STOREFRONT_TEAM_DEFAULTS, props);
  }
}
