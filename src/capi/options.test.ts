import { test } from "node:test";
import assert from "node:assert/strict";
import { RenewCertsError } from "../errors.js";
import { parseAgent, parseInterval, parseSchedule, settingsFor } from "./options.js";

function refuses(fn: () => unknown, code: string, expect: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RenewCertsError);
    assert.equal(e.code, code);
    assert.equal(e.message.split("\n").length, 1);
    assert.match(e.message, expect);
    return true;
  });
}

test("the interval is a whole number of days from 0 to the validity", () => {
  assert.equal(parseInterval("60"), 60);
  assert.equal(parseInterval("0"), 0);
  assert.equal(parseInterval("365"), 365);
  for (const bad of ["1.5", "-3", "60d", "", "abc", "1e2"]) refuses(() => parseInterval(bad), "CONFIG", /--certificate-renew-interval must be a whole number of days .*for example --certificate-renew-interval=60/);
  refuses(() => parseInterval("400"), "CONFIG", /400 is longer than the certificates' validity \(365 days\)/);
  refuses(() => parseInterval(undefined), "USAGE", /--certificate-renew-interval=DAYS is required/);
});

test("the agent is preinstalled by default, or an https URL with a 64-hex sha256 (lowercased)", () => {
  assert.deepEqual(parseAgent(undefined), { kind: "preinstalled" });
  assert.deepEqual(parseAgent("preinstalled"), { kind: "preinstalled" });
  const sha = "AB".repeat(32);
  assert.deepEqual(parseAgent(`url=https://example.com/r?a=1,b=2,sha256=${sha}`), { kind: "url", url: "https://example.com/r?a=1,b=2", sha256: sha.toLowerCase() });
  assert.deepEqual(parseAgent(`sha256=${sha},url=https://example.com/r`), { kind: "url", url: "https://example.com/r", sha256: sha.toLowerCase() });
});

test("an agent sha256 that is not 64 hex characters is refused", () => {
  refuses(() => parseAgent(`url=https://example.com/r,sha256=${"a".repeat(63)}`), "CONFIG", /--agent sha256 must be 64 hexadecimal characters \(got "a{63}", 63 characters\)/);
  refuses(() => parseAgent(`url=https://example.com/r,sha256=${"g".repeat(64)}`), "CONFIG", /64 hexadecimal characters/);
});

test("an agent URL that is not https is refused: the executable runs as root", () => {
  refuses(() => parseAgent(`url=http://example.com/r,sha256=${"a".repeat(64)}`), "CONFIG", /--agent url must use https \(got "http:\/\/example.com\/r"\): the executable runs as root/);
  refuses(() => parseAgent(`url=file:///tmp/r,sha256=${"a".repeat(64)}`), "CONFIG", /must use https/);
  refuses(() => parseAgent(`url=not a url,sha256=${"a".repeat(64)}`), "CONFIG", /is not a URL/);
  refuses(() => parseAgent(`url=https://example.com/it's,sha256=${"a".repeat(64)}`), "CONFIG", /contains a quote/);
});

test("an agent without both fields, or with an unknown one, is refused", () => {
  refuses(() => parseAgent("url=https://example.com/r"), "CONFIG", /both url= and sha256= are needed/);
  refuses(() => parseAgent("download"), "CONFIG", /--agent must be "preinstalled" or "url=https:\/\/…,sha256=<64 hex characters>"/);
  refuses(() => parseAgent(`url=https://a,url=https://b,sha256=${"a".repeat(64)}`), "CONFIG", /--agent must be/);
});

test("the schedule is one line; the settings carry it with the interval", () => {
  assert.equal(parseSchedule(undefined), undefined);
  assert.equal(parseSchedule(" weekly "), "weekly");
  refuses(() => parseSchedule("daily\nExecStart=/bin/sh"), "CONFIG", /--schedule must be one systemd calendar expression/);
  refuses(() => parseSchedule(" "), "CONFIG", /--schedule/);
  const s = settingsFor({ intervalDays: 45, agent: { kind: "preinstalled" }, schedule: "weekly" });
  assert.equal(s.certificateRenewInterval, 45);
  assert.equal(s.schedule, "weekly");
  assert.equal(settingsFor({ intervalDays: 45, agent: { kind: "preinstalled" } }).schedule, "daily");
});
