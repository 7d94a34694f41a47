// Writes the wasm-metadce graph that keeps every export of a module except those bindings/js never uses:
// the function table and the stack helpers that emcc exports from every standalone module. Without the
// table export, binaryen may treat the table as private and turn indirect calls into direct ones.
//   node wasm/dce_graph.mjs MODULE.wasm GRAPH.json
import { readFileSync, writeFileSync } from 'node:fs';

const [module, graph] = process.argv.slice(2);
const unused = new Set(['__indirect_function_table', 'stackSave', 'stackRestore', 'stackAlloc']);
const exports = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(module))).map((e) => e.name);
writeFileSync(graph, JSON.stringify([
  { name: 'root', root: true, reaches: exports.filter((n) => !unused.has(n)).map((n) => `export-${n}`) },
  ...exports.map((n) => ({ name: `export-${n}`, export: n })),
]));
