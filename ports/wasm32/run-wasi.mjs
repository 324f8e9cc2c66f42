// SPDX-License-Identifier: Apache-2.0 OR MIT
// Run a wasm32-wasi command module under Node's built-in WASI:
//   node --no-warnings run-wasi.mjs prog.wasm [args...]
// The exit code of the program becomes Node's; a trap (abort, panic)
// exits with 134 like SIGABRT would. Works with Node 18 (with
// --experimental-wasi-unstable-preview1) and Node 20+.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
    process.stderr.write('usage: run-wasi.mjs prog.wasm [args...]\n');
    process.exit(2);
}
const wasi = new WASI({
    version: 'preview1',
    args: [file, ...rest],
    env: {},
    returnOnExit: true,
});
try {
    const module = await WebAssembly.compile(await readFile(file));
    const instance = await WebAssembly.instantiate(module, {
        wasi_snapshot_preview1: wasi.wasiImport,
    });
    process.exitCode = wasi.start(instance);
} catch (e) {
    process.stderr.write(`run-wasi: ${file}: ${e && e.stack ? e.stack : e}\n`);
    process.exitCode = e instanceof WebAssembly.RuntimeError ? 134 : 1;
}
