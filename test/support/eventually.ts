// Waiting for an event in tests: polls until a probe gives a value, with a timeout sized for a slow machine.
import assert from "node:assert/strict";

/** Resolves with the first value `f` gives (a throw counts as none yet); fails the test after `timeoutMs` naming `what`. */
export async function eventually<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  for (const until = Date.now() + timeoutMs; ;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
