// Entry point of a component test double's process. Its spec (spec.ts) comes in SIM_COMPONENT,
// the simulator's options in SIM_OPTIONS; "ready" on stdout once it serves.
import { optionsFromEnv } from "./timing.js";
import type { ComponentSpec } from "./spec.js";

const spec = JSON.parse(process.env["SIM_COMPONENT"] ?? "{}") as ComponentSpec;
const options = optionsFromEnv(process.env);
// As the real binaries: the process table shows the component's name.
process.title = spec.component;
// A container ends with its runtime: when whoever started this process is gone, so is it.
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(1); }, 500).unref();
try {
  if (spec.component === "kube-apiserver") {
    const api = await (await import("./apiserver.js")).startApiserver(spec, { sim: options });
    process.once("SIGTERM", () => {
      // It stops listening at once, then drains until the kubelet's SIGKILL ends the grace period.
      api.stopListening();
      setInterval(() => undefined, 1 << 30);
    });
  } else if (spec.component === "etcd") {
    // Its TLS is judged by the API server double from the files; the process only starts and runs.
    const { REAL_MS, scaled } = await import("./timing.js");
    await new Promise((r) => setTimeout(r, scaled(options, REAL_MS.controllerStart)));
    setInterval(() => undefined, 1 << 30);
    process.once("SIGTERM", () => process.exit(0));
  } else {
    await (await import("./controller.js")).serveController(spec, options);
    process.once("SIGTERM", () => process.exit(0)); // they end at once
  }
  process.stdout.write("ready\n");
} catch (e) {
  // A component that cannot load its files crashes, as the real one would.
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
