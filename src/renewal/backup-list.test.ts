import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backupsInUse, backupsToPrune, isFutureDated, nextSequence, orderBackups, timeOfName, type BackupEntry } from "./backup-list.js";
import { createBackup } from "./backup.js";

const NOW = new Date(Date.UTC(2026, 10, 28, 2, 15));

function entry(name: string, sequence: number | undefined): BackupEntry {
  return { dir: `/b/${name}`, name, sequence, created: timeOfName(name) };
}

test("backups are ordered by their recorded sequence, not by the clock in their names; older ones without a sequence come first", () => {
  const list = [entry("20350101T000000.000Z", 3), entry("20261127T000000.000Z", 4), entry("20250101T000000.000Z", undefined), entry("20240101T000000.000Z", undefined), entry("20361231T000000.000Z", 1)];
  assert.deepEqual(orderBackups(list).map((e) => e.name), ["20240101T000000.000Z", "20250101T000000.000Z", "20361231T000000.000Z", "20350101T000000.000Z", "20261127T000000.000Z"]);
  assert.equal(nextSequence(list), 5);
  assert.equal(nextSequence([]), 1);
});

test("a backup whose name or record is later than now is dated in the future", () => {
  assert.equal(isFutureDated(entry("20361231T000000.000Z", 1), NOW), true);
  assert.equal(isFutureDated(entry("20261127T000000.000Z", 2), NOW), false);
  assert.equal(isFutureDated(entry("not-a-time", 2), NOW), false);
  assert.equal(timeOfName("20261128T021500.123Z-2")?.toISOString(), "2026-11-28T02:15:00.123Z");
});

test("pruning keeps the newest by sequence, the protected ones and those dated in the future, whatever their names say", () => {
  const future = Array.from({ length: 10 }, (_, i) => entry(`2035${String(i + 1).padStart(2, "0")}01T000000.000Z`, i + 1));
  const past = [entry("20260101T000000.000Z", 11), entry("20260201T000000.000Z", 12), entry("20260301T000000.000Z", 13)];
  const justMade = entry("20261128T021500.000Z", 14);
  // Ten future-dated backups and keep=2: only past ones go, and never the one just made.
  const gone = backupsToPrune([...future, ...past, justMade], 2, [justMade.dir], NOW).map((e) => e.name);
  assert.deepEqual(gone, ["20260101T000000.000Z", "20260201T000000.000Z"]);
  // A backup an interrupted run's record names survives even when it is the oldest.
  assert.deepEqual(backupsToPrune([...past, justMade], 1, [justMade.dir, past[0]!.dir], NOW).map((e) => e.name), ["20260201T000000.000Z", "20260301T000000.000Z"]);
});

test("the backups the state records name (intent, pending restart, any later record) are found; corrupt records are ignored", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "renew-certs-state-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "intent.json"), JSON.stringify({ backup: "/b/one", files: [] }));
  await writeFile(join(dir, "pending-restart.json"), JSON.stringify({ backup: "/b/two" }));
  await writeFile(join(dir, "job.json"), "{ not json");
  await writeFile(join(dir, "lock"), "123\n");
  assert.deepEqual((await backupsInUse(dir)).sort(), ["/b/one", "/b/two"]);
  assert.deepEqual(await backupsInUse(join(dir, "missing")), []);
});

test("createBackup never prunes the backup a pending restart still needs, nor one dated in the future", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "renew-certs-prune-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, "etc/kubernetes"), { recursive: true });
  const file = join(root, "etc/kubernetes/admin.conf");
  await writeFile(file, "a");
  const backups = join(root, "var/lib/renew-certs/backups");
  const day = (d: number): Date => new Date(Date.UTC(2026, 0, d));
  const first = await createBackup(root, backups, [file], day(1), "test", { keep: 3 });
  const future = await createBackup(root, backups, [file], new Date(Date.UTC(2036, 0, 1)), "test", { keep: 3 });
  await writeFile(join(root, "var/lib/renew-certs/pending-restart.json"), JSON.stringify({ backup: first }));
  for (let d = 2; d <= 6; d++) await createBackup(root, backups, [file], day(d), "test", { keep: 3 });
  const left = (await readdir(backups)).sort();
  assert.deepEqual(left, ["20260101T000000.000Z", "20260104T000000.000Z", "20260105T000000.000Z", "20260106T000000.000Z", "20360101T000000.000Z"]);
  assert.ok(future.endsWith("20360101T000000.000Z"));
});
