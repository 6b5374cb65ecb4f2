#!/usr/bin/env node
// The only module that touches `process`: argv in, exit code out.
import { runMain } from "./run-main.js";
import { text } from "node:stream/consumers";

const code = await runMain(process.argv.slice(2), {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  env: process.env,
  isTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  readStdin: () => text(process.stdin),
});
process.exitCode = code;
