#!/usr/bin/env node
// The entry of `node build/src/cli/main.js`, of the CommonJS bundle and of the standalone
// executable (which runs the bundle): argv in, exit code out.
// No top-level await: the CommonJS bundle cannot have it.
import { runMain } from "./run-main.js";
import { processIO } from "./process-io.js";
import { EXIT } from "./exit-codes.js";

void runMain(process.argv.slice(2), processIO()).then((code) => {
  process.exitCode = code;
  // Stopped by SIGTERM: every write is done and the lock released; a probe the stop left
  // unanswered (up to its own timeout) must not hold the exit.
  if (code === EXIT.TERMINATED) process.exit(code);
});
