// The allocator of the npm package's stompwire.wasm (wasm/heap.cpp) through its sw_alloc/sw_free/
// sw_heap_used exports, on the module the package ships (bindings/js/stompwire.wasm), with no-op imports:
// blocks are aligned, disjoint and keep their bytes; freed blocks are reused; the in-use count is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const wasmPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bindings', 'js', 'stompwire.wasm');

function instantiate() {
  const mod = new WebAssembly.Module(readFileSync(wasmPath));
  const imports = {};
  for (const i of WebAssembly.Module.imports(mod)) {
    (imports[i.module] ??= {})[i.name] = () => {
      throw new Error(`unexpected import call ${i.module}.${i.name}`);
    };
  }
  const x = new WebAssembly.Instance(mod, imports).exports;
  x._initialize();
  // The exports' letters, as wasm/stompwire_wasm.cpp (SW_EXPORT) and wasm/heap.cpp name them.
  return { memory: x.memory, sw_alloc: x.a, sw_free: x.b, sw_heap_used: x.c };
}

// A deterministic generator: a failure reproduces.
function random(seed) {
  return (n) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
}

test('wasm heap: random malloc/free keeps blocks aligned, disjoint and intact; freeing all returns the count to the start', () => {
  const w = instantiate();
  const rnd = random(7);
  const start = w.sw_heap_used();
  const live = new Map(); // pointer -> [size, tag]
  const fill = (p, n, tag) => {
    const u8 = new Uint8Array(w.memory.buffer, p, n);
    for (let i = 0; i < n; i += 1 + (i >> 5)) u8[i] = (tag + i) & 255;
    if (n) u8[n - 1] = tag;
  };
  const verify = (p, n, tag) => {
    const u8 = new Uint8Array(w.memory.buffer, p, n);
    for (let i = 0; i < n - 1; i += 1 + (i >> 5)) if (u8[i] !== ((tag + i) & 255)) assert.fail(`block ${p} (${n} B) changed at ${i}`);
    if (n) assert.equal(u8[n - 1], tag, `block ${p} (${n} B) changed at its end`);
  };
  for (let step = 0; step < 60000; step++) {
    if (live.size && (rnd(100) < 48 || live.size > 2000)) {
      const keys = [...live.keys()];
      const p = keys[rnd(keys.length)];
      const [n, tag] = live.get(p);
      verify(p, n, tag);
      w.sw_free(p);
      live.delete(p);
    } else {
      const r = rnd(1000);
      const n = r < 600 ? rnd(70) : r < 950 ? rnd(5000) : r < 998 ? rnd(200_000) : rnd(2_000_000);
      const p = w.sw_alloc(n);
      assert.ok(p > 0, `sw_alloc(${n}) failed`);
      assert.equal(p % 8, 0, `sw_alloc(${n}) = ${p} is not 8-aligned`);
      assert.ok(!live.has(p), `${p} handed out twice`);
      const tag = rnd(256);
      fill(p, n, tag);
      live.set(p, [n, tag]);
    }
  }
  const spans = [...live].map(([p, [n]]) => [p, p + Math.max(n, 1)]).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], `blocks overlap at ${spans[i][0]}`);
  assert.ok(w.sw_heap_used() > start);
  for (const [p, [n, tag]] of live) {
    verify(p, n, tag);
    w.sw_free(p);
  }
  assert.equal(w.sw_heap_used(), start);
});

test('wasm heap: the in-use count covers each request; freed blocks are reused, so a steady load does not grow memory', () => {
  const w = instantiate();
  const start = w.sw_heap_used();
  for (const n of [0, 1, 8, 9, 24, 100, 1000, 4096, 65536, 1_000_000]) {
    const p = w.sw_alloc(n);
    const used = w.sw_heap_used() - start;
    assert.ok(used >= n && used <= Math.max(16, (n + 8) * 1.25 + 8), `${n} B counted as ${used}`);
    w.sw_free(p);
    assert.equal(w.sw_heap_used(), start);
    assert.equal(w.sw_alloc(n), p, `a freed ${n} B block is reused`);
    w.sw_free(p);
  }
  // The same mix of sizes again and again (as a client's working set): no block class needs more blocks
  // than the first round made (blocks are not split or merged, so a new mix may grow the heap once).
  const cycle = () => {
    const rnd = random(11);
    const ps = [];
    for (let i = 0; i < 500; i++) ps.push(w.sw_alloc(rnd(3000)));
    for (const p of ps) w.sw_free(p);
  };
  cycle();
  const pages = w.memory.buffer.byteLength;
  for (let i = 0; i < 200; i++) cycle();
  assert.equal(w.memory.buffer.byteLength, pages);
  assert.equal(w.sw_heap_used(), start);
});

test('wasm heap: a request beyond 2 GB fails with a null pointer, and the heap stays usable', () => {
  const w = instantiate();
  const start = w.sw_heap_used();
  assert.equal(w.sw_alloc(0xfffffff0), 0);
  assert.equal(w.sw_heap_used(), start);
  const p = w.sw_alloc(100);
  assert.ok(p > 0);
  w.sw_free(p);
  w.sw_free(0); // free(nullptr) does nothing
  assert.equal(w.sw_heap_used(), start);
});
