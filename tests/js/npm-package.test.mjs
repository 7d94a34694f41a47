// The npm package as users get it: `npm pack` of bindings/js, installed from the tarball into an empty
// project (offline: `ws` comes from the repository's node_modules, as `npm i stompwire ws` would add it)
// and used from Node; and its hand-written types checked by tsc on a typed example.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, realpathSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './support/paths.mjs';
import { MockBroker } from './support/mock-broker.mjs';

const run = promisify(execFile);
const pkgDir = join(repoRoot, 'bindings', 'js');
const nodeModules = join(repoRoot, 'node_modules');
const temp = mkdtempSync(join(tmpdir(), 'stompwire-npm-'));
after(() => rmSync(temp, { recursive: true, force: true }));

test('npm pack ships exactly the minified module (stompwire.mjs + transport.mjs), the .wasm, the types and the README', async () => {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', temp], { cwd: pkgDir });
  const [info] = JSON.parse(stdout);
  assert.deepEqual(info.files.map((f) => f.path).sort(), ['README.md', 'index.d.ts', 'package.json', 'stompwire.min.mjs', 'stompwire.wasm']);
  assert.ok(existsSync(join(temp, info.filename)));
});

test('the tarball installs into an empty project and works from Node', async () => {
  const tgz = readdirSync(temp).find((f) => f.endsWith('.tgz'));
  assert.ok(tgz, 'run after npm pack');
  const app = join(temp, 'app');
  rmSync(app, { recursive: true, force: true });
  await run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', join(temp, tgz),
    realpathSync(join(nodeModules, 'ws'))], { cwd: app });
  writeFileSync(join(app, 'main.mjs'), `
    import { Client } from 'stompwire';
    const client = await Client.create({ brokerURL: process.argv[2], heartbeatIncoming: 0, heartbeatOutgoing: 0 });
    const got = new Promise((resolve) => client.subscribe('/topic/npm', (m) => resolve(m.body)));
    client.activate();
    await client.publish({ destination: '/topic/npm', body: 'from the tarball', receipt: true });
    console.log(JSON.stringify({ body: await got, state: client.state }));
    await client.deactivate();
    client.dispose();
  `);
  const broker = await new MockBroker().start();
  try {
    const { stdout } = await run(process.execPath, ['main.mjs', broker.url], { cwd: app, timeout: 20000 });
    assert.deepEqual(JSON.parse(stdout), { body: 'from the tarball', state: 'connected' });
  } finally {
    await broker.stop();
  }
  // The package resolves through its exports map, including the types entry.
  const { stdout } = await run(process.execPath, ['-e', `import('stompwire/package.json', { with: { type: 'json' } }).then(
    (m) => console.log(m.default.exports['.'].types))`], { cwd: app });
  assert.equal(stdout.trim(), './index.d.ts');
});

test('the installed package loads a self-hosted .wasm handed to init(bytes) when the default file is absent', async () => {
  const app = join(temp, 'app');
  const pkg = join(app, 'node_modules', 'stompwire');
  assert.ok(existsSync(join(pkg, 'stompwire.wasm')), 'run after the install test');
  // As when a bundler did not copy the file next to the module: the app serves it from elsewhere.
  renameSync(join(pkg, 'stompwire.wasm'), join(app, 'hosted.wasm'));
  writeFileSync(join(app, 'hosted.mjs'), `
    import { readFile } from 'node:fs/promises';
    import { Client, init } from 'stompwire';
    await init(await readFile('hosted.wasm'));
    const client = await Client.create({ brokerURL: process.argv[2], heartbeatIncoming: 0, heartbeatOutgoing: 0 });
    client.activate();
    await client.publish({ destination: '/topic/hosted', body: 'x', receipt: true });
    console.log(client.state);
    client.dispose();
  `);
  const broker = await new MockBroker().start();
  try {
    const { stdout } = await run(process.execPath, ['hosted.mjs', broker.url], { cwd: app, timeout: 20000 });
    assert.equal(stdout.trim(), 'connected');
  } finally {
    await broker.stop();
    renameSync(join(app, 'hosted.wasm'), join(pkg, 'stompwire.wasm'));
  }
});

test('index.d.ts: the typed examples pass tsc --noEmit (with and without the DOM lib)', async () => {
  const tsc = join(nodeModules, 'typescript', 'bin', 'tsc');
  for (const config of ['tsconfig.json', 'tsconfig.nodom.json']) {
    const r = await run(process.execPath, [tsc, '-p', join(repoRoot, 'tests', 'js', 'types', config)]).catch((e) => e);
    assert.equal(r.code ?? 0, 0, `${config}: ${r.stdout}${r.stderr}`);
  }
});
