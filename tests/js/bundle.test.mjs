// The minified bundle the npm package ships (bindings/js/stompwire.min.mjs, scripts/build-js) behaves as
// the sources do: the client suites that import the sources run again with their import switched to the
// bundle. scripts/build-js renames every internal member (a single letter each, chosen by use), inlines
// the module's exports as W.<letter> calls and lets terser fold code: a clash of a renamed member with a
// real property, or a fold that changes behaviour, shows here rather than only in an app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './support/paths.mjs';

const bundle = join(repoRoot, 'bindings', 'js', 'stompwire.min.mjs');
const suites = ['client-core.test.mjs', 'subscription-iterator.test.mjs', 'frame-headers.test.mjs', 'sockjs-package.test.mjs', 'options-versions.test.mjs'];

test('the client suites pass against the minified bundle', { skip: !existsSync(bundle) && 'no stompwire.min.mjs: build the wasm preset' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stompwire-bundle-'));
  try {
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules')); // the suites import ws
    const files = suites.map((name) => {
      const src = readFileSync(join(repoRoot, 'tests', 'js', name), 'utf8');
      const switched = src
        .replaceAll("'../../bindings/js/stompwire.mjs'", `'${pathToFileURL(bundle).href}'`)
        .replaceAll("'../../", `'${pathToFileURL(repoRoot).href}/`)
        .replaceAll("'./support/", `'${pathToFileURL(join(repoRoot, 'tests', 'js', 'support')).href}/`);
      assert.ok(switched.includes(pathToFileURL(bundle).href), `${name} imports the sources as expected`);
      const file = join(dir, name);
      writeFileSync(file, switched);
      return file;
    });
    // A run of its own, not a child of this one's runner (which it would report to instead of stdout).
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const result = await new Promise((resolve) => {
      execFile(process.execPath, ['--test', '--test-reporter=tap', ...files], { cwd: repoRoot, env, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
        resolve({ code: error?.code ?? 0, stdout, stderr }),
      );
    });
    const count = (what) => Number(result.stdout.match(new RegExp(`^# ${what} (\\d+)$`, 'm'))?.[1]);
    assert.equal(result.code, 0, `${result.stdout.split('\n').filter((l) => /^\s*not ok|^# /.test(l)).join('\n')}\n${result.stderr}`);
    assert.equal(count('fail'), 0);
    assert.ok(count('pass') >= 30, `passed: ${count('pass')}`);
    console.log(`bundle: ${count('pass')} passed, ${count('skipped')} skipped`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
