#!/usr/bin/env node
// The only module that touches `process`: argv in, exit code out.
// No top-level await: the same file is the entry of the CommonJS bundle and the standalone executable.
import { runMain } from "./run-main.js";
import { processIO } from "./process-io.js";

void runMain(process.argv.slice(2), processIO()).then((code) => {
  process.exitCode = code;
});
