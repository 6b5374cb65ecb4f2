// A component test double's process ("container"), as the kubelet double starts and stops it: a
// real child process that reads its files anew at every start and has its own pid and start time.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { SimOptions } from "./timing.js";
import type { ComponentSpec } from "./spec.js";

/** How a started component behaves: answers ok, or runs but its health endpoint fails. */
export type Behaviour = "healthy" | "unhealthy";

/** A running component process. */
export interface ComponentProcess {
  readonly id: string;
  readonly component: string;
  readonly process: ChildProcess;
  /** When it was started (epoch ms). */
  readonly startedAt: number;
  /** Resolves when it serves; rejects when it exits first (with its stderr). */
  readonly ready: Promise<void>;
  /** Resolves when it has exited, with how. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** True once it has exited. */
  gone(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  terminate(graceMs: number): Promise<void>;
  /** The last lines it wrote to stderr. */
  stderr(): string;
}

const MAIN = fileURLToPath(new URL("./component-main.js", import.meta.url));
let counter = 0;

/** Starts the double's process for `spec` (componentSpec). */
export function startComponent(spec: ComponentSpec, o: SimOptions): ComponentProcess {
  const component = spec.component;
  const child = spawn(process.execPath, [MAIN], {
    stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SIM_OPTIONS: JSON.stringify(o), SIM_COMPONENT: JSON.stringify(spec) },
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once("exit", (code, signal) => { done = true; r({ code, signal }); }));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => { if (d.toString().includes("ready")) resolve(); });
    void exited.then(({ code, signal }) => reject(new Error(`${component} test double exited (${code ?? signal}) before it was ready: ${err.trim()}`)));
  });
  ready.catch(() => undefined); // observed by whoever waits for it
  return {
    id: `${component}-${(++counter).toString(16).padStart(4, "0")}${Math.random().toString(16).slice(2, 10)}`,
    component, process: child, startedAt: spec.startedAt, ready, exited,
    gone: () => done,
    stderr: () => err,
    async terminate(graceMs) {
      if (done) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
