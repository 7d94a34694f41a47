// stompwire-cli as scripts use it: numbered lines piped into `pub DEST - --receipt`, read back by
// `sub DEST --count N`, through the reference server and (when STOMPWIRE_RABBITMQ_URL is set, as
// scripts/test does after `scripts/rabbitmq start`) RabbitMQ Web-STOMP. Every line must come back
// exactly once and in order, and both commands must exit 0. bench/cli/bench.mjs is the 100,000-message
// version with rates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { startServer, serverBinary, waitFor } from './support/server.mjs';
import { nativeBuildDir } from './support/paths.mjs';

const cli = path.join(nativeBuildDir, 'bin/stompwire-cli');
const skip = existsSync(cli) && existsSync(serverBinary()) ? false : 'stompwire-cli not built (cmake --build --preset native)';
const rabbit = process.env.STOMPWIRE_RABBITMQ_URL;
const N = 5000;

function run(args, input) {
  const child = spawn(cli, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
  child.stdin.end(input);
  return once(child, 'exit').then(([code, signal]) => ({ code, signal, stdout, stderr }));
}

async function roundTrip(url, extra = []) {
  const dest = `/queue/cli-test-${process.pid}-${Date.now()}`;
  const common = ['--url', url, ...extra];
  const sub = run([...common, 'sub', dest, '--count', String(N)], '');
  const lines = Array.from({ length: N }, (_, i) => `line ${i + 1}`);
  const pub = await run([...common, 'pub', dest, '-', '--receipt', '--window', '200'], lines.join('\n') + '\n');
  assert.equal(pub.code, 0, pub.stderr);
  assert.match(pub.stderr, new RegExp(`published ${N} messages \\(${N} confirmed, 0 failed\\)`));
  const got = await sub;
  assert.equal(got.code, 0, got.stderr);
  assert.deepEqual(got.stdout.trimEnd().split('\n'), lines);
}

test(`cli: ${N} lines with receipts through the reference server, each once and in order`, { skip }, async () => {
  const server = await startServer();
  try {
    await roundTrip(server.url);
  } finally {
    await server.stop();
  }
});

test(`cli: ${N} lines with receipts through RabbitMQ Web-STOMP`, { skip: skip || (!rabbit && 'STOMPWIRE_RABBITMQ_URL not set (scripts/rabbitmq start)') }, async () => {
  // host:/ because RabbitMQ reads CONNECT's host header as the vhost. --heartbeat 0: RabbitMQ 3.10's
  // Web-STOMP heart-beat monitor crashes on the flow-control "resume" a fast publisher triggers
  // (rabbitmq-server #15605) and drops the connection.
  await roundTrip(rabbit, ['--login', 'guest', '--passcode', 'guest', '--connect-header', 'host:/', '--heartbeat', '0']);
});

test('cli: a last line without a newline is published too; exit 0', { skip }, async () => {
  const server = await startServer();
  try {
    const pub = await run(['--url', server.url, 'pub', '/queue/tail', '-', '--receipt'], 'one\ntwo');
    assert.equal(pub.code, 0, pub.stderr);
    const sub = await run(['--url', server.url, 'sub', '/queue/tail', '--count', '2'], '');
    assert.deepEqual(sub.stdout.split('\n').filter(Boolean), ['one', 'two']);
  } finally {
    await server.stop();
  }
});

test('cli: SIGINT while reading an open stdin exits at once with 130', { skip }, async () => {
  const server = await startServer();
  try {
    const child = spawn(cli, ['--url', server.url, 'pub', '/queue/x', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
    const exited = once(child, 'exit');
    child.stdin.write('first\n'); // stdin stays open: the reader thread is blocked on it
    const deadline = Date.now() + 5000;
    while (!stderr.includes('connected\n') && Date.now() < deadline) await new Promise((r) => child.stderr.once('data', r));
    child.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 130, stderr);
  } finally {
    await server.stop();
  }
});

test('cli chat: a line typed while the server is down is reported queued and delivered after the restart', { skip }, async () => {
  let server = await startServer();
  const port = server.port;
  const child = spawn(cli, ['--url', server.url, '--login', 'ann', 'chat', 'cli-restart'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
  const exited = once(child, 'exit');
  try {
    await waitFor(() => stderr.includes('connected\n'), 10000, 'connected');
    child.stdin.write('before\n');
    await waitFor(() => stdout.includes('[ann] before\n'), 5000, 'the first line back');
    await server.stop();
    await waitFor(() => /reconnecting in \d+\.\ds/.test(stderr), 10000, 'reconnecting');
    child.stdin.write('during\n');
    await waitFor(() => stderr.includes('message queued (1 waiting)\n'), 5000, 'the queued note');
    server = await startServer({ args: ['--listen', `127.0.0.1:${port}`] });
    await waitFor(() => stdout.includes('[ann] during\n'), 15000, 'the queued line after the restart');
    assert.match(stderr, /(reconnecting in \d+\.\ds|connecting).*, 1 queued\n/);
    assert.equal(stdout.split('[ann] during\n').length, 2, 'exactly once');
    child.kill('SIGINT');
    assert.equal((await exited)[0], 0, stderr);
  } finally {
    child.kill('SIGKILL');
    await server.stop();
  }
});
