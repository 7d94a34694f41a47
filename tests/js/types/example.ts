// A typed use of the package: `tsc --noEmit` must accept it (tests/js/npm-types.test.mjs), and the
// expect-error lines prove that the declarations reject what they should.
import Client, { Client as NamedClient, init, heapUsed, type Message, type StompwireError, type ClientState } from 'stompwire';

async function main(): Promise<void> {
  await init();
  const client: Client = await NamedClient.create({
    brokerURL: 'ws://127.0.0.1:61613/ws',
    connectHeaders: { login: 'guest', passcode: 'guest' },
    heartbeatIncoming: 10_000,
    heartbeatOutgoing: 10_000,
    reconnect: { initialDelay: 500, maxDelay: 10_000, multiplier: 2, maxAttempts: 0 },
    offlineQueue: { maxMessages: 100, maxBytes: 1 << 20 },
    beforeConnect: async (c) => {
      c.connectHeaders = { login: 'guest', passcode: await Promise.resolve('token') };
    },
    onConnect: (frame) => console.log(frame.headers['version']),
  });
  const off: () => void = client.onStateChange(({ state, previous, reason }) => {
    const s: ClientState = state;
    console.log(s, previous, reason?.code);
  });
  client.onWebSocketClose = (e) => console.log(e.code, e.reason, e.wasClean);
  client.activate();

  const sub = client.subscribe('/queue/work', (m: Message) => {
    const text: string = m.body;
    const bytes: Uint8Array = m.binaryBody;
    console.log(text, bytes.length, m.headers['message-id'], m.json<{ n: number }>().n);
    m.ack();
  }, { ack: 'client-individual' });
  sub.unsubscribe();

  for await (const m of client.subscribe('/topic/news')) {
    if (m.isBinaryBody) break;
  }

  try {
    await client.publish({ destination: '/topic/a', body: 'hi', headers: { 'content-type': 'text/plain' }, receipt: true });
    await client.publish({ destination: '/topic/b', binaryBody: new Uint8Array([1, 2]) });
    await client.publishJson('/app/chat.send', { content: 'hello' });
  } catch (e) {
    const err = e as StompwireError;
    if (err.code === 'queue_full' || err.code === 'receipt_timeout' || err.code === 'deactivated') console.log(err.message);
  }

  const tx = client.begin();
  await tx.publish({ destination: '/queue/x', body: '1' });
  tx.commit();

  console.log(client.metrics().queueDepth, heapUsed(), client.state === 'connected');
  off();
  await client.deactivate();
  await client.deactivate({ force: true });
  client.dispose();
  client[Symbol.dispose]();

  const early = new Client({ brokerURL: 'ws://x', webSocketFactory: (url, protocols) => new WebSocket(url, protocols) });
  await early.ready;
  const fallback = new Client({ brokerURL: 'ws://x/ws', transport: 'auto', fallbackTimeout: 2000, sockjsOptions: { transports: ['xhr-streaming'] } });
  const used: 'websocket' | 'sockjs' | null = fallback.transportUsed;
  console.log(used);
  // @ts-expect-error not a transport
  new Client({ brokerURL: 'ws://x', transport: 'carrier-pigeon' });

  // @ts-expect-error destination is required
  await client.publish({ body: 'x' });
  // @ts-expect-error not a state
  const bad: ClientState = 'open';
  // @ts-expect-error durations are numbers (ms)
  new Client({ brokerURL: 'ws://x', heartbeatIncoming: '10s' });
  console.log(bad);
}

void main();
