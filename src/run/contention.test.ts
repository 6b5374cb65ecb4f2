// Several `run`s at once on one host, as when the timer's run meets an operator's: the lock lets
// exactly one renew and restart in each round; the others wait, then find nothing due. Each round
// starts from a due PKI; one round also has an entry left by a process that died holding the lock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cliAsync } from "../../test/support/cli.js";
import { simulatedHost } from "../../test/support/simulated.js";
import { pkiProblems, staleComponents } from "../../test/support/consistent.js";
import { processIdentity } from "../util/proc.js";

const RUNS = 4;
const ROUNDS = 3;
const COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

test(`${RUNS} runs at once, ${ROUNDS} rounds: exactly one renews and restarts each round, the others find nothing due, the PKI is one consistent set`, async (t) => {
  for (let round = 0; round < ROUNDS; round++) {
    const h = await simulatedHost(t, { ageDays: 300, sim: { timeScale: 0.005 } });
    const config = join(h.root, "renew-certs.yaml");
    await writeFile(config, "nodeName: cp-1\nhealthTimeoutSeconds: 60\nleaseWaitSeconds: 5\nlockTimeoutSeconds: 90\n");
    if (round === 1) {
      // A run that died holding the lock (a pid that does not run): it must not block, nor let two in.
      const lock = join(h.root, "var/lib/renew-certs/lock");
      await mkdir(lock, { recursive: true });
      await writeFile(join(lock, "999999-1-0"), JSON.stringify({ pid: 999999, startTicks: 1, boot: processIdentity().boot, number: 1 }));
    }
    const results = await Promise.all(Array.from({ length: RUNS }, () =>
      cliAsync(["run", "--root", h.root, "--config", config], { env: { RENEW_CERTS_TEST_PROBE_INTERVAL_MS: "50" }, timeoutMs: 180_000 })));
    const out = results.map((r) => r.stdout + r.stderr);
    assert.deepEqual(results.map((r) => r.status), Array(RUNS).fill(0), `round ${round}:\n${out.join("\n---\n")}`);
    const renewed = out.filter((o) => /renewed and healthy: 11 certificate\(s\); 3 component\(s\) restarted and proven new/.test(o));
    const idle = out.filter((o) => /not due/.test(o) && !/renewed and healthy/.test(o));
    assert.equal(renewed.length, 1, `round ${round}: exactly one run renews:\n${out.join("\n---\n")}`);
    assert.equal(idle.length, RUNS - 1, `round ${round}: the others find nothing due:\n${out.join("\n---\n")}`);
    await h.kubelet.settled();
    for (const c of COMPONENTS) assert.equal(h.kubelet.restarts(c), 1, `round ${round}: ${c} restarted once`);
    assert.deepEqual(await pkiProblems(h.root), [], `round ${round}`);
    assert.deepEqual(await staleComponents(h.root, h.kubelet), [], `round ${round}`);
    assert.equal(existsSync(join(h.root, "var/lib/renew-certs/lock")), false, `round ${round}: every entry released (the dead one's too)`);
  }
});
