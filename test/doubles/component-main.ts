// Entry point of a component test double's process: node component-main.js KIND ROOT MANIFEST BEHAVIOUR.
import type { Behaviour } from "./process.js";

const [kind, root, manifest, behaviour] = process.argv.slice(2) as [string, string, string, Behaviour];
process.once("SIGTERM", () => process.exit(0));
try {
  // Loaded on demand: only the /healthz double needs the X.509 builder, and start-up time is restart time.
  if (kind === "apiserver") await (await import("./apiserver.js")).serveApiserver(root, manifest, behaviour);
  else await (await import("./healthz.js")).serveHealthz(manifest, behaviour);
  process.stdout.write("ready\n");
} catch (e) {
  // A component that cannot load its files crashes, as the real one would.
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
