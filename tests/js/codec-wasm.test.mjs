// The frame codec compiled to WebAssembly must print exactly what the native build prints for every
// transcript, however the bytes are split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot, wasmBuildDir } from './support/paths.mjs';

const require = createRequire(import.meta.url);
const createCodecProbe = require(join(wasmBuildDir, 'bin', 'codec_probe.cjs'));
// Hand the binary in: Node 20's global fetch cannot load a plain file path.
const probe = await createCodecProbe({ wasmBinary: readFileSync(join(wasmBuildDir, 'bin', 'codec_probe.wasm')) });
const transcriptDir = join(repoRoot, 'tests', 'transcripts');

function copyIn(bytes) {
  const ptr = probe._malloc(Math.max(bytes.length, 1));
  probe.HEAPU8.set(bytes, ptr);
  return ptr;
}

function describe(bytes, expectBytes, split, stride) {
  const b = copyIn(bytes);
  const e = copyIn(expectBytes);
  try {
    const n = probe._probe_describe(b, bytes.length, e, expectBytes.length, split, stride);
    const ptr = probe._probe_result_ptr();
    return Buffer.from(probe.HEAPU8.subarray(ptr, ptr + n)).toString('latin1');
  } finally {
    probe._free(b);
    probe._free(e);
  }
}

const names = readdirSync(transcriptDir).filter((f) => f.endsWith('.stomp')).map((f) => f.slice(0, -6)).sort();

test('the transcript corpus is there', () => {
  assert.ok(names.length >= 30, `only ${names.length} transcripts`);
});

for (const name of names) {
  test(`wasm codec: ${name}`, () => {
    const bytes = readFileSync(join(transcriptDir, `${name}.stomp`));
    const expectBytes = readFileSync(join(transcriptDir, `${name}.expect`));
    const expectText = expectBytes.toString('latin1');
    const expected = expectText.split('\n').filter((l) => !l.startsWith('#')).join('\n');
    assert.equal(describe(bytes, expectBytes, bytes.length, 0), expected, 'whole');
    assert.equal(describe(bytes, expectBytes, 1, 1), expected, 'one byte at a time');
    for (let k = 0; k <= bytes.length; k++) {
      assert.equal(describe(bytes, expectBytes, k, 0), expected, `split at ${k}`);
    }
  });
}

test('wasm parser counts frames across chunk sizes and reports errors', () => {
  const frame = Buffer.from('MESSAGE\ndestination:/q\ncontent-length:3\n\nabc\0\n', 'latin1');
  const many = Buffer.concat(Array(100).fill(frame));
  for (const chunk of [1, 7, 64, many.length]) {
    const p = copyIn(many);
    assert.equal(probe._probe_parse_count(p, many.length, chunk), 100);
    probe._free(p);
  }
  const bad = copyIn(Buffer.from('SEND\nno colon\n\n\0'));
  assert.equal(probe._probe_parse_count(bad, 17, 4), -1);
  probe._free(bad);
});
