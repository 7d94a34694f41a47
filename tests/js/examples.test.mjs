// The examples run for real against the reference server, so that they never rot: examples/cpp with
// examples/node (the README's quick start, which must quote both files verbatim), the terminal chat
// (examples/chat-cli) through a server restart, and the demo's driver (scripts/lib/demo.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { startServer, serverBinary, waitFor, repoRoot } from './support/server.mjs';
import { nativeBuildDir } from './support/paths.mjs';

const bin = (name) => path.join(nativeBuildDir, 'bin', name);
const skip = ['stompwire-echo', 'stompwire-chat'].every((n) => existsSync(bin(n))) && existsSync(serverBinary())
  ? false
  : 'examples not built (cmake --build --preset native)';

// A child process whose stdout and stderr lines are collected; `exited` resolves to the exit code.
function run(file, args, options = {}) {
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  const out = { child, stdout: [], stderr: [] };
  for (const stream of ['stdout', 'stderr']) {
    let rest = '';
    child[stream].setEncoding('utf8');
    child[stream].on('data', (c) => {
      const lines = (rest + c).split('\n');
      rest = lines.pop();
      out[stream].push(...lines);
    });
  }
  out.exited = once(child, 'exit').then(([code]) => code);
  return out;
}

test('README quotes examples/cpp/main.cpp and examples/node/ping.mjs verbatim', () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  for (const file of ['examples/cpp/main.cpp', 'examples/node/ping.mjs']) {
    const source = readFileSync(path.join(repoRoot, file), 'utf8');
    assert.ok(readme.includes(source), `README.md must contain ${file} as it is`);
  }
});

test('examples/cpp answers examples/node through the reference server', { skip }, async () => {
  const server = await startServer();
  try {
    const cpp = run(bin('stompwire-echo'), [server.url, '3']);
    const node = run(process.execPath, [path.join(repoRoot, 'examples/node/ping.mjs'), server.url, '3'], { cwd: repoRoot });
    assert.equal(await node.exited, 0, node.stderr.join('\n'));
    assert.equal(await cpp.exited, 0, cpp.stderr.join('\n'));
    assert.deepEqual(cpp.stdout.filter(Boolean), ['cpp got: ping 1', 'cpp got: ping 2', 'cpp got: ping 3']);
    const pongs = node.stdout.filter(Boolean);
    assert.equal(pongs.length, 3);
    pongs.forEach((l, i) => assert.match(l, new RegExp(`^pong ping ${i + 1} after \\d+\\.\\d ms$`)));
    assert.ok(cpp.stderr.includes('cpp: connected') && cpp.stderr.at(-1) === 'cpp: inactive', cpp.stderr.join('\n'));
  } finally {
    await server.stop();
  }
});

test('examples/chat-cli: two terminals chat; a line typed during a restart is queued, delivered once', { skip }, async () => {
  let server = await startServer();
  const port = server.port;
  const ann = run(bin('stompwire-chat'), ['--url', server.url, '--room', 'cli', '--user', 'ann']);
  const bob = run(bin('stompwire-chat'), ['--url', server.url, '--room', 'cli', '--user', 'bob']);
  try {
    // Bob first sees his own line: then his SUBSCRIBE has been processed and he cannot miss ann's.
    bob.child.stdin.write('bob is here\n');
    await waitFor(() => bob.stdout.some((l) => l.endsWith(' bob: bob is here')), 10000, 'bob subscribed');
    ann.child.stdin.write('hello from ann\n');
    await waitFor(() => bob.stdout.some((l) => / ann: hello from ann$/.test(l)), 5000, 'bob to see ann');
    assert.match(bob.stdout.find((l) => l.includes('hello from ann')), /^\[\d\d:\d\d:\d\d\] ann: hello from ann$/);

    await server.stop();
    await waitFor(() => bob.stderr.some((l) => l.startsWith('* reconnecting in ')), 10000, 'bob reconnecting');
    bob.child.stdin.write('sent while offline\n');
    await waitFor(() => bob.stderr.includes('* offline: queued "sent while offline" (1 waiting)'), 5000, 'the queued notice');
    server = await startServer({ args: ['--listen', `127.0.0.1:${port}`] });
    await waitFor(() => bob.stderr.includes('* delivered "sent while offline"'), 15000, 'the receipt notice');
    // A room is a topic: whoever is subscribed when the line arrives sees it. Bob's client resubscribes
    // before it flushes its queue, so bob sees his own line; ann does if she reconnected first.
    await waitFor(() => bob.stdout.some((l) => l.endsWith(' bob: sent while offline')), 15000, 'bob to see the queued line');

    ann.child.stdin.end(); // Ctrl-D: deactivate and exit 0
    bob.child.stdin.end();
    assert.equal(await ann.exited, 0);
    assert.equal(await bob.exited, 0);
    assert.equal(bob.stdout.filter((l) => l.endsWith(' bob: sent while offline')).length, 1, 'exactly once');
    assert.ok(ann.stdout.filter((l) => l.endsWith(' bob: sent while offline')).length <= 1, 'at most once');
  } finally {
    ann.child.kill();
    bob.child.kill();
    await server.stop();
  }
});

test('examples/chat-cli rejects an unknown option and a bad URL with exit code 2', { skip }, async () => {
  const p = run(bin('stompwire-chat'), ['--colour', 'red']);
  assert.equal(await p.exited, 2);
  assert.match(p.stderr.join('\n'), /unknown option --colour/);
  const q = run(bin('stompwire-chat'), ['--url', 'http://127.0.0.1:1/ws']);
  assert.equal(await q.exited, 2);
  assert.match(q.stderr.join('\n'), /invalid brokerURL/);
});

test('the demo: native and Node clients through a server restart, nothing lost or repeated', { skip }, async () => {
  const demo = run(process.execPath, [path.join(repoRoot, 'scripts/lib/demo.mjs')], { cwd: repoRoot });
  const code = await demo.exited;
  const out = demo.stdout.join('\n');
  assert.equal(code, 0, out + demo.stderr.join('\n'));
  assert.match(out, /8 pings sent, 8 answers received, no duplicates, in order/);
  assert.match(out, /queued offline \(3 waiting\)/);
  assert.match(out, /server started again on port/);
  assert.match(out, /demo ok$/);
});
