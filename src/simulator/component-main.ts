// Entry point of a component test double's process: node component-main.js KIND ROOT MANIFEST BEHAVIOUR.
// The options (time scale…) come in SIM_OPTIONS. "ready" on stdout once it serves.
import { optionsFromEnv } from "./timing.js";

const [kind, root, manifest, behaviour] = process.argv.slice(2) as [string, string, string, string];
const options = optionsFromEnv(process.env);
// As the real binaries: the process table shows the component's name.
process.title = kind;
try {
  // Loaded on demand: start-up time is restart time.
  if (kind === "kube-apiserver") {
    const api = await (await import("./apiserver.js")).startApiserver(root, manifest, { healthy: behaviour !== "unhealthy", sim: options });
    process.once("SIGTERM", () => {
      // It stops listening at once, then drains until the kubelet's SIGKILL ends the grace period.
      api.stopListening();
      setInterval(() => undefined, 1 << 30);
    });
  } else {
    await (await import("./controller.js")).serveController(root, manifest, behaviour !== "unhealthy", options);
    process.once("SIGTERM", () => process.exit(0)); // they end at once
  }
  process.stdout.write("ready\n");
} catch (e) {
  // A component that cannot load its files crashes, as the real one would.
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
