#!/usr/bin/env node
// The only module that touches `process`: argv in, exit code out.
// No top-level await: the same file is the entry of the CommonJS bundle and the standalone executable.
import { runMain } from "./run-main.js";
import { text } from "node:stream/consumers";

void runMain(process.argv.slice(2), {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  env: process.env,
  isTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  readStdin: () => text(process.stdin),
}).then((code) => {
  process.exitCode = code;
});
