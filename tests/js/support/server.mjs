// Starts stompwire-server for a test: on 127.0.0.1 port 0 unless told otherwise, waits for the
// "listening on ws://HOST:PORT/ws" line and for /healthz, and stops it with a deadline.
//
//   import { startServer } from './support/server.mjs';
//   const server = await startServer({ args: ['--user', 'ann:pw'] });
//   ... server.url (ws://127.0.0.1:PORT/ws), server.httpUrl, server.port ...
//   const { code } = await server.stop();          // SIGTERM, waits for exit
//
// The binary: $STOMPWIRE_SERVER, else $STOMPWIRE_BUILD_DIR/bin/stompwire-server (default build/native).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function serverBinary() {
  if (process.env.STOMPWIRE_SERVER) return process.env.STOMPWIRE_SERVER;
  const build = process.env.STOMPWIRE_BUILD_DIR ?? path.join(repoRoot, 'build/native');
  return path.resolve(repoRoot, build, 'bin/stompwire-server');
}

// GET a path; resolves {status, body, headers}. TLS certificates are not verified (test certs).
export function httpGet(url, { method = 'GET', headers = {}, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.request(url, { method, headers, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export async function startServer({ args = [], timeoutMs = 10000, binary = serverBinary(), env = process.env } = {}) {
  if (!existsSync(binary)) throw new Error(`stompwire-server not found at ${binary}: build it (cmake --build --preset native)`);
  const fullArgs = args.includes('--listen') ? [...args] : ['--listen', '127.0.0.1:0', ...args];
  const child = spawn(binary, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c) => (stderr += c));
  child.stdout.setEncoding('utf8');
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`stompwire-server did not print its listening line within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (c) => {
      stdout += c;
      const nl = stdout.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(stdout.slice(0, nl));
      }
    });
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`stompwire-server exited (${code}) before listening\n${stderr}`));
    });
  });
  const m = /^listening on (wss?):\/\/(.+):(\d+)\/ws$/.exec(line);
  if (!m) {
    child.kill('SIGKILL');
    throw new Error(`unexpected first line from stompwire-server: ${line}`);
  }
  const [, scheme, host, port] = m;
  const httpUrl = `${scheme === 'wss' ? 'https' : 'http'}://${host}:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await httpGet(`${httpUrl}/healthz`)).status === 200) break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (Date.now() > deadline) throw new Error('stompwire-server /healthz never answered 200');
  }

  let exitInfo;
  exited.then((e) => (exitInfo = e));
  return {
    process: child,
    url: `${scheme}://${host}:${port}/ws`,
    httpUrl,
    host,
    port: Number(port),
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    exited,
    // Sends `signal` and waits for the exit (SIGKILL after timeoutMs). Resolves {code, signal}.
    async stop(signal = 'SIGTERM', timeoutMs2 = 10000) {
      if (exitInfo) return exitInfo;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs2);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

// Resolves when predicate() is truthy, polling on the event loop; rejects after timeoutMs.
export async function waitFor(predicate, timeoutMs = 5000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
