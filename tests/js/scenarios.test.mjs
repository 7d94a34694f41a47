// The shared scenario suite, Node side: one test per tests/scenarios/*.json, run with the npm package
// (the wasm build) against stompwire-server; `interop` scenarios also against RabbitMQ Web-STOMP when
// STOMPWIRE_RABBITMQ_URL is set (scripts/rabbitmq start; ws://127.0.0.1:15674/ws). No scenario-specific
// code here: see tests/scenarios/README.md. Results go to build/scenarios/wasm.json for scripts/parity.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { loadScenario, ScenarioRun } from './support/scenario-runner.mjs';
import { repoRoot } from './support/server.mjs';

const dir = path.join(repoRoot, 'tests/scenarios');
const only = process.env.STOMPWIRE_SCENARIO ? new RegExp(process.env.STOMPWIRE_SCENARIO) : null;
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const rabbitUrl = process.env.STOMPWIRE_RABBITMQ_URL;
const results = {};
const outDir = path.resolve(repoRoot, process.env.STOMPWIRE_BUILD_DIR ?? 'build/native', '..', 'scenarios');

function register(file, broker) {
  const name = file.replace(/\.json$/, '');
  const key = broker === 'rabbitmq' ? `rabbitmq:${name}` : name;
  const scenario = loadScenario(path.join(dir, file));
  if (broker === 'rabbitmq' && !scenario.interop) return;
  const skip = (only && !only.test(key)) || scenario.skip;
  test(key, { skip: skip ? (scenario.skip ?? 'filtered') : false, timeout: (scenario.timeoutMs ?? 30000) + 15000 }, async () => {
    const t0 = Date.now();
    try {
      await new ScenarioRun(scenario, { broker, rabbitUrl }).run();
      results[key] = { status: 'pass', ms: Date.now() - t0 };
    } catch (e) {
      results[key] = { status: 'fail', ms: Date.now() - t0, error: String(e?.message ?? e) };
      throw e;
    }
  });
  if (skip) results[key] = { status: 'skip', reason: scenario.skip ?? 'filtered' };
}

describe('scenarios (wasm)', () => {
  for (const f of files) register(f, 'stompwire');
  if (rabbitUrl) for (const f of files) register(f, 'rabbitmq');
  after(() => {
    mkdirSync(outDir, { recursive: true });
    const doc = { runner: 'wasm', scenarios: files.map((f) => f.replace(/\.json$/, '')), rabbitmq: !!rabbitUrl, results };
    writeFileSync(path.join(outDir, 'wasm.json'), JSON.stringify(doc, null, 1) + '\n');
  });
});
