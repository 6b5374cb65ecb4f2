// The child process behind the component test doubles: spawned, killed and spawned again by the
// kubelet test double, so that a "restart" really starts a new process that reads its files anew.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** How a started component behaves: answers ok, or runs but its health endpoint fails. */
export type Behaviour = "healthy" | "unhealthy";

/** A component process started by a test double. */
export interface RunningComponent {
  process: ChildProcess;
  /** Resolves when it listens; rejects when it exits first (with its stderr). */
  ready: Promise<void>;
  /** Stops it (SIGTERM, then SIGKILL after 2 s) and waits until it has exited. */
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL("./component-main.js", import.meta.url));

/** Spawns `node component-main.js KIND ROOT MANIFEST BEHAVIOUR`. */
export function spawnComponent(kind: "apiserver" | "healthz", root: string, manifest: string, behaviour: Behaviour): RunningComponent {
  const child = spawn(process.execPath, [MAIN, kind, root, manifest, behaviour], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => { if (d.toString().includes("ready")) resolve(); });
    child.once("exit", (code, signal) => reject(new Error(`${kind} test double for ${manifest} exited (${code ?? signal}) before it was ready: ${stderr.trim()}`)));
  });
  ready.catch(() => undefined); // observed by whoever waits for it
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  };
  return { process: child, ready, stop };
}
