// The main script of the standalone executable (see scripts/build.mjs). It runs the library
// bundle, stored as an asset of the executable, with the V8 code cache trained at build time for
// the command line: the small "status" cache for the read-only fast commands, the "full" one for
// everything else. A rejected cache (another V8, other flags) only makes the start slower.
// CommonJS with built-in modules only, and no import(): what a single executable application
// with a code cache runs in Node.js 20.
"use strict";
const { getAsset } = require("node:sea");
const { Script } = require("node:vm");
const { dirname } = require("node:path");

const argv = process.argv.slice(2);
const fast = argv[0] === undefined || ["status", "--version", "--help", "-h", "help"].includes(argv[0]);
const cache = fast ? "status.cache" : "full.cache";
const script = new Script(getAsset("renew-certs.js", "utf8"), { filename: process.execPath, cachedData: new Uint8Array(getAsset(cache)) });
if (process.env.RENEW_CERTS_DEBUG_CACHE === "1") process.stderr.write(`renew-certs: code cache ${cache} ${script.cachedDataRejected === false ? "accepted" : "rejected"}\n`);
// The library is wrapped as Node.js wraps a CommonJS module (see build.mjs).
const lib = { exports: {} };
script.runInThisContext().call(lib.exports, lib.exports, require, lib, process.execPath, dirname(process.execPath));
void lib.exports.runMain(argv, lib.exports.processIO()).then((code) => {
  process.exitCode = code;
});
