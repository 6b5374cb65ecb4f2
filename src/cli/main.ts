#!/usr/bin/env node
// The entry of `node build/src/cli/main.js` and of the CommonJS bundle: argv in, exit code out
// (the standalone executable's loader does the same with src/cli/entry-lib.ts).
// No top-level await: the CommonJS bundle cannot have it.
import { runMain } from "./run-main.js";
import { processIO } from "./process-io.js";

void runMain(process.argv.slice(2), processIO()).then((code) => {
  process.exitCode = code;
});
