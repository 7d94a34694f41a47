// Helpers for the SockJS tests: @stomp/stompjs over sockjs-client with one transport forced, raw
// HTTP requests, and a reader for streaming responses.
import { Client } from '@stomp/stompjs';
import http from 'node:http';
import SockJS from 'sockjs-client';

import { waitFor } from './server.mjs';

export const TRANSPORTS = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'];

// A stompjs client over SockJS with `transport` forced. Resolves once CONNECTED; records closes and errors.
export async function stompOverSockJs(sockjsUrl, transport, { connectHeaders = {}, reconnectDelay = 0, heartbeat = 0, connect = true } = {}) {
  const seen = { connects: 0, stompErrors: [], closes: [], transports: [] };
  const client = new Client({
    webSocketFactory: () => {
      const sock = new SockJS(sockjsUrl, null, { transports: [transport], timeout: 5000 });
      sock.addEventListener('open', () => seen.transports.push(sock.transport));
      return sock;
    },
    connectHeaders,
    reconnectDelay,
    heartbeatIncoming: heartbeat,
    heartbeatOutgoing: heartbeat,
    debug: () => {},
    onConnect: () => seen.connects++,
    onStompError: (frame) => seen.stompErrors.push(frame),
    onWebSocketClose: (evt) => seen.closes.push({ code: evt.code, reason: evt.reason }),
  });
  client.seen = seen;
  client.activate();
  if (connect) await waitFor(() => client.connected, 8000, `CONNECTED over SockJS ${transport}`);
  return client;
}

// Subscribes with a receipt and resolves once the broker has the subscription.
export async function subscribeCollect(client, destination, headers = {}) {
  const messages = [];
  const id = `r-${Math.random().toString(36).slice(2)}`;
  const receipted = new Promise((resolve) => client.watchForReceipt(id, resolve));
  const sub = client.subscribe(destination, (m) => messages.push(m), { ...headers, receipt: id });
  await receipted;
  return { messages, sub };
}

// One HTTP request with an optional body; resolves {status, body, headers}.
export function request(url, { method = 'GET', body, headers = {}, timeoutMs = 5000, agent = false, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent, timeout: timeoutMs, localAddress }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Opens a streaming response and collects its body as it arrives. `text` grows; `ended` resolves
// when the server ends the response; `destroy()` aborts it from the client side.
export function openStream(url, { method = 'POST', headers = {} } = {}) {
  const state = { text: '', status: 0, headers: null, ended: null, destroy: null };
  let req;
  state.ended = new Promise((resolve, reject) => {
    req = http.request(url, { method, headers, agent: false }, (res) => {
      state.status = res.statusCode;
      state.headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (c) => (state.text += c));
      res.on('end', () => resolve(state.text));
      res.on('error', (e) => (state.destroyed ? resolve(state.text) : reject(e)));
    });
    req.on('error', (e) => (state.destroyed ? resolve(state.text) : reject(e)));
    req.end();
  });
  state.destroy = () => {
    state.destroyed = true;
    req.destroy();
  };
  return state;
}

// Reads one metric value (first sample whose name and labels match) from /metrics.
export async function metric(httpUrl, name, labels = '') {
  const { body } = await request(`${httpUrl}/metrics`);
  const key = labels ? `${name}{${labels}}` : name;
  for (const line of body.split('\n')) {
    if (line.startsWith(key + ' ')) return Number(line.slice(key.length + 1));
  }
  return undefined;
}

export function randomId() {
  return Math.random().toString(36).slice(2, 10);
}
