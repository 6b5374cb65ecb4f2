// Cleanups of one test, run last-registered first (node:test runs t.after hooks in the order they
// were added): a simulated host's processes stop before its directory is removed.
import type { TestContext } from "node:test";

const stacks = new WeakMap<TestContext, (() => unknown)[]>();

/** Runs `fn` after the test, before every cleanup registered earlier. */
export function onCleanup(t: TestContext, fn: () => unknown): void {
  let stack = stacks.get(t);
  if (!stack) {
    const s: (() => unknown)[] = [];
    stacks.set(t, s);
    t.after(async () => {
      while (s.length > 0) await s.pop()!();
    });
    stack = s;
  }
  stack.push(fn);
}
