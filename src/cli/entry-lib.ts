// The entry of the library bundle that the standalone executable's loader runs (see
// scripts/build.mjs and scripts/sea-loader.cjs): runMain and the process's io, as main.ts uses them.
export { runMain } from "./run-main.js";
export { processIO } from "./process-io.js";
