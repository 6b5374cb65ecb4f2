import { test } from "node:test";
import assert from "node:assert/strict";
import { killPointOf } from "./fault.js";

test("a kill point is the Nth step of all, or the Kth step of one name (the first when no #K is given)", () => {
  assert.deepEqual(killPointOf("12"), { n: 12 });
  assert.deepEqual(killPointOf("renamed state:restored#2"), { name: "renamed state:restored", occurrence: 2 });
  assert.deepEqual(killPointOf("temp-written /tmp/x/etc/kubernetes/admin.conf"), { name: "temp-written /tmp/x/etc/kubernetes/admin.conf", occurrence: 1 });
  assert.equal(killPointOf(undefined), undefined);
  assert.equal(killPointOf("0"), undefined);
});
