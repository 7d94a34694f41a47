// The versions option (and stompjs' stompVersions.versions) as the CONNECT frame's accept-version, and an
// unknown version refused by the constructor: the JS hands the module one byte per version, which the core checks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, init } from '../../bindings/js/stompwire.mjs';
import { MockBroker, until } from './support/mock-broker.mjs';

await init();
const b = await new MockBroker().start();
after(() => b.stop());

async function acceptVersion(options) {
  const before = b.framesOf('CONNECT').length;
  const c = new Client({ brokerURL: b.url, heartbeatIncoming: 0, heartbeatOutgoing: 0, ...options });
  c.activate();
  await until(() => b.framesOf('CONNECT').length > before, 'CONNECT');
  c.dispose();
  return b.framesOf('CONNECT').at(-1).headers['accept-version'];
}

test('versions and stompVersions.versions become accept-version; the default offers all three', async () => {
  assert.equal(await acceptVersion({}), '1.0,1.1,1.2');
  assert.equal(await acceptVersion({ versions: ['1.1'] }), '1.1');
  assert.equal(await acceptVersion({ versions: ['1.2', '1.0'] }), '1.0,1.2');
  assert.equal(await acceptVersion({ stompVersions: { versions: ['1.0'] } }), '1.0');
  assert.equal(await acceptVersion({ versions: ['1.1'], stompVersions: { versions: ['1.0'] } }), '1.1', 'versions first');
});

test('an unknown or empty version list is an invalid option', () => {
  for (const versions of [['1.3'], ['1.2', 'x'], []]) {
    assert.throws(() => new Client({ brokerURL: b.url, versions }), { code: 'invalid_argument', option: 'versions' }, JSON.stringify(versions));
  }
});
