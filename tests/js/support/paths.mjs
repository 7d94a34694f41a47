// Where the tests find the repository and the builds (STOMPWIRE_BUILD_DIR / STOMPWIRE_WASM_BUILD_DIR
// override the presets' defaults).
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const nativeBuildDir = process.env.STOMPWIRE_BUILD_DIR ?? resolve(repoRoot, 'build', 'native');
export const wasmBuildDir = process.env.STOMPWIRE_WASM_BUILD_DIR ?? resolve(repoRoot, 'build', 'wasm');
