// The client core compiled to WebAssembly (-fno-exceptions) runs its smoke checks under Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { wasmBuildDir } from './support/paths.mjs';

test('client core smoke checks pass in wasm', () => {
  const run = spawnSync(process.execPath, ['--no-experimental-fetch', join(wasmBuildDir, 'bin', 'core_smoke.cjs')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /core_smoke: ok/);
  assert.doesNotMatch(run.stdout, /FAILED/);
});
