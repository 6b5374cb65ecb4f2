import { mkdtemp, cp, rm, readdir, readFile, stat } from "node:fs/promises";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import type { TestContext } from "node:test";
import { createSandbox, type SandboxOptions } from "../../src/sandbox/sandbox.js";
import { onCleanup } from "./cleanup.js";
import { storeFileOf } from "../../src/simulator/store.js";

const made = new Map<string, Promise<string>>();

/**
 * A sandbox control plane made once per test process for these options (keys are slow to
 * generate); tests get copies of it from copySandbox.
 */
export function sharedSandbox(opts: SandboxOptions = {}): Promise<string> {
  const key = JSON.stringify(opts);
  let p = made.get(key);
  if (!p) {
    p = (async () => {
      const dir = await mkdtemp(join(tmpdir(), "renew-certs-fixture-"));
      await createSandbox(dir, opts);
      // Synchronously: an exit listener cannot wait for a promise, and every test process left one behind.
      process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
      return dir;
    })();
    made.set(key, p);
  }
  return p;
}

/** A fresh copy of a shared sandbox, removed after the test. */
export async function copySandbox(t: TestContext, opts: SandboxOptions = {}): Promise<string> {
  const src = await sharedSandbox(opts);
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-test-"));
  await cp(src, dir, { recursive: true, preserveTimestamps: true });
  onCleanup(t, () => rm(dir, { recursive: true, force: true, maxRetries: 3 }));
  return dir;
}

/** The API server double's storage directory, relative to a root. */
const SIMULATOR_STATE_DIR = dirname(relative("/", storeFileOf("/")));

/** Every file under `dir` with its bytes, mode and mtime, the simulator's own storage left out: for "nothing changed" assertions. */
export async function snapshot(dir: string): Promise<Map<string, { bytes: string; mode: number; mtimeMs: number }>> {
  const out = new Map<string, { bytes: string; mode: number; mtimeMs: number }>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      // The API server double's own storage (what etcd's data is to a real cluster) changes on the
      // doubles' schedule (extension-apiserver-authentication, kube-root-ca.crt, Leases): it is no
      // file of the host's, and what renew-certs does to the cluster is asserted through the API.
      if (relative(dir, p) === SIMULATOR_STATE_DIR) continue;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        // A file that goes while we look (a simulated component's store being replaced) was never there.
        const s = await stat(p).catch(() => undefined);
        const bytes = s && (await readFile(p).catch(() => undefined));
        if (s && bytes) out.set(relative(dir, p), { bytes: bytes.toString("base64"), mode: s.mode & 0o7777, mtimeMs: s.mtimeMs });
      }
    }
  };
  await walk(dir);
  return out;
}
