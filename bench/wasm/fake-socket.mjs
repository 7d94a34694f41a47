// The in-memory WebSocket-like object the wasm benches drive by hand: it opens on the next turn, answers
// CONNECT/STOMP with CONNECTED (heart-beats off) and a DISCONNECT's receipt, and keeps every frame it was sent.
export class FakeSocket {
  constructor() {
    this.readyState = 0;
    this.protocol = 'v12.stomp';
    this.bufferedAmount = 0;
    this.sent = [];
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }
  send(data) {
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
    this.sent.push(text);
    if (text.startsWith('CONNECT') || text.startsWith('STOMP')) {
      setTimeout(() => this.onmessage?.({ data: 'CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0' }));
    }
    const receipt = /\nreceipt:([^\n]*)/.exec(text);
    if (text.startsWith('DISCONNECT') && receipt) {
      setTimeout(() => this.onmessage?.({ data: `RECEIPT\nreceipt-id:${receipt[1]}\n\n\0` }));
    }
  }
  close() {
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code: 1000, reason: '', wasClean: true }));
  }
}
