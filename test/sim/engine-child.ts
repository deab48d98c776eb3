/**
 * A child process for test/sim/engine-harness.ts: loads the pipelines and the scenario as
 * `handsoff simulate` does, appends the engine events given (those a scenario file cannot
 * express yet, e.g. a deleted alarm), runs the engine and prints its events as JSON Lines.
 * Usage: engine-child.ts <request.json> with { pipelines, scenario, events }.
 */
import { readFileSync } from 'node:fs';
import { loadPipelineFiles, loadScenarioFile } from '../../cli/load.ts';
import { simulate, type SimEvent } from '../../sim/engine.ts';
import { toSimScenario } from '../../sim/scenario-adapter.ts';

const request = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { pipelines: string[]; scenario: string; events: SimEvent[] };
const loaded = await loadPipelineFiles(request.pipelines);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
const scenario = await loadScenarioFile(request.scenario, loaded.pipelines);
if (!scenario.ok) throw new Error(JSON.stringify(scenario.problems));
const sim = toSimScenario(scenario.scenario, loaded.pipelines);
await simulate({
  pipelines: loaded.pipelines,
  scenario: { ...sim, events: [...sim.events, ...request.events] },
  onEvent: (e) => process.stdout.write(`${JSON.stringify(e)}\n`),
});
