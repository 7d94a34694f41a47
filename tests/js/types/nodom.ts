// The declarations must also compile for a Node project without the DOM lib.
import { Client, type Message } from 'stompwire';

export async function run(url: string): Promise<string[]> {
  const c = await Client.create({ brokerURL: url });
  const seen: string[] = [];
  c.subscribe('/topic/x', (m: Message) => seen.push(m.body));
  c.activate();
  await c.publish({ destination: '/topic/x', body: 'x', receipt: true });
  c.dispose();
  return seen;
}
