// scripts/demo --web: the reference server serving the chat page (examples/chat-web) and the broker in
// one process, until Ctrl-C. PORT (default 8080) picks the port; HOST (default 127.0.0.1) the address.
import path from 'node:path';
import { startServer, repoRoot } from '../../tests/js/support/server.mjs';

const host = process.env.HOST ?? '127.0.0.1';
const port = process.env.PORT ?? '8080';
let server;
try {
  server = await startServer({ args: ['--listen', `${host}:${port}`, '--static', path.join(repoRoot, 'examples/chat-web')] });
} catch (e) {
  console.error(`scripts/demo --web: the server did not start on ${host}:${port} (PORT=... picks another port)\n${e.message}`);
  process.exit(1);
}
const page = `${server.httpUrl}/?room=lobby`;
console.log(`chat page:      ${page}  (open it in two tabs; add &user=NAME to skip the form)
terminal chat:  build/native/bin/stompwire-chat --url ${server.url} --room lobby --user cli
Stop the server with Ctrl-C and start it again (scripts/demo --web) while a page is open: the page
shows "reconnecting", counts what you type meanwhile, and delivers it after the restart.`);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    stopping = true;
    await server.stop();
    process.exit(0);
  });
}
const { code } = await server.exited;
if (stopping) await new Promise(() => {}); // the signal handler exits
console.error(`the server exited (${code})`);
process.exit(code ?? 1);
