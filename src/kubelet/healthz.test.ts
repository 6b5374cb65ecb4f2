import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getHealthz, healthzEndpointOf, KUBELET_CONFIG } from "./healthz.js";

test("the healthz address comes from the kubelet's config, with the kubelet's defaults, a wildcard bind asked on the loopback, and port 0 as off", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "renew-certs-healthz-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  assert.deepEqual(await healthzEndpointOf(root), { host: "127.0.0.1", port: 10248 }, "no config: the defaults");
  await mkdir(join(root, "var/lib/kubelet"), { recursive: true });
  const put = (text: string) => writeFile(join(root, KUBELET_CONFIG), text);
  await put("kind: KubeletConfiguration\nhealthzBindAddress: 0.0.0.0\nhealthzPort: 10999\n");
  assert.deepEqual(await healthzEndpointOf(root), { host: "127.0.0.1", port: 10999 });
  await put("kind: KubeletConfiguration\nhealthzBindAddress: 10.0.0.5\n");
  assert.deepEqual(await healthzEndpointOf(root), { host: "10.0.0.5", port: 10248 });
  await put("kind: KubeletConfiguration\nhealthzPort: 0\n");
  assert.equal(await healthzEndpointOf(root), undefined);
  await put("{ not yaml: [");
  assert.deepEqual(await healthzEndpointOf(root), { host: "127.0.0.1", port: 10248 }, "a config the kubelet could not read either: the defaults");
});

test("a healthz that accepts the connection but never answers is slow, not down; a port nothing listens on is down", async (t) => {
  const sockets: Socket[] = [];
  const mute = createServer((s) => { sockets.push(s); }); // accepts, never answers
  await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
  t.after(() => { for (const s of sockets) s.destroy(); mute.close(); });
  const port = (mute.address() as { port: number }).port;
  const slow = await getHealthz({ host: "127.0.0.1", port }, 300);
  assert.deepEqual(slow, { ok: false, slow: true, detail: `http://127.0.0.1:${port}/healthz: accepts connections but did not answer within 0.3 s` });
  // A port just closed: nothing listens there any more.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const gone = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  assert.deepEqual(await getHealthz({ host: "127.0.0.1", port: gone }, 2000), { ok: false, detail: `http://127.0.0.1:${gone}/healthz: connection refused` });
});
