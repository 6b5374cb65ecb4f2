import { test } from "node:test";
import assert from "node:assert/strict";
import { formatWhen, lastRunOf, parseShow, parseTimerList } from "./systemd-state.js";

const now = new Date(Date.UTC(2026, 11, 1, 21, 48, 30));

test("a time reads as its UTC date and minute, and how far from now it is", () => {
  assert.equal(formatWhen(new Date(Date.UTC(2026, 11, 2, 0, 0, 0)), now), "Wed 2026-12-02 00:00 UTC (in 2 h 11 min)");
  assert.equal(formatWhen(new Date(Date.UTC(2026, 11, 1, 21, 40, 0)), now), "Tue 2026-12-01 21:40 UTC (8 min ago)");
  assert.equal(formatWhen(new Date(now.getTime() + 20_000), now), "Tue 2026-12-01 21:48 UTC (in less than a minute)");
  assert.equal(formatWhen(new Date(Date.UTC(2026, 10, 25, 9, 0, 0)), now), "Wed 2026-11-25 09:00 UTC (6 days ago)");
});

test("the timer's next and last elapse come from list-timers' JSON in microseconds; text output is not taken for it", () => {
  const json = '[{"next":1796169600000000,"left":1796169600000000,"last":1796160336657255,"passed":1796160336657255,"unit":"renew-certs.timer","activates":"renew-certs.service"}]';
  assert.deepEqual(parseTimerList(json), { next: new Date(1796169600000), last: new Date(1796160336657.255) });
  assert.deepEqual(parseTimerList('[{"next":0,"last":null,"unit":"renew-certs.timer"}]'), { next: undefined, last: undefined });
  assert.equal(parseTimerList("[]"), undefined);
  assert.equal(parseTimerList("Wed 2026-12-02 00:00:00 UTC 2h left n/a n/a renew-certs.timer renew-certs.service"), undefined);
});

const ended = (o: Record<string, string>): Record<string, string> => parseShow(Object.entries({
  ActiveState: "failed", ExecMainCode: "1", ExecMainStartTimestamp: "@1796160000", InactiveEnterTimestamp: "@1796160100", ...o,
}).map(([k, v]) => `${k}=${v}`).join("\n"));

test("the last run's end and result are read from systemctl show, whichever way it ended", () => {
  const at = new Date(1796160100_000);
  assert.deepEqual(lastRunOf(ended({ ActiveState: "inactive", Result: "success", ExecMainStatus: "0" })), { state: "ended", at, ok: true, detail: "succeeded (exit 0)" });
  assert.deepEqual(lastRunOf(ended({ Result: "exit-code", ExecMainStatus: "5" })), { state: "ended", at, ok: false, detail: "failed with exit 5 (another renew-certs run held the lock)" });
  assert.deepEqual(lastRunOf(ended({ Result: "exit-code", ExecMainStatus: "17" })), { state: "ended", at, ok: false, detail: "failed with exit 17 (stopped by SIGTERM; the next run resumes where it stopped)" });
  assert.deepEqual(lastRunOf(ended({ Result: "exit-code", ExecMainStatus: "42" })), { state: "ended", at, ok: false, detail: "failed with exit 42" });
  assert.deepEqual(lastRunOf(ended({ Result: "signal", ExecMainCode: "2", ExecMainStatus: "31" })), { state: "ended", at, ok: false, detail: "killed by signal 31" });
  assert.deepEqual(lastRunOf(ended({ Result: "timeout", ExecMainCode: "2", ExecMainStatus: "15" })), { state: "ended", at, ok: false, detail: "killed: it ran longer than TimeoutStartSec" });
  assert.deepEqual(lastRunOf(ended({ Result: "timeout", ExecMainStatus: "17" })), { state: "ended", at, ok: false, detail: "stopped: it ran longer than TimeoutStartSec (exit 17 (stopped by SIGTERM; the next run resumes where it stopped))" });
  assert.deepEqual(lastRunOf(ended({ ActiveState: "activating", Result: "success" })), { state: "running", since: new Date(1796160000_000) });
  assert.deepEqual(lastRunOf(parseShow("ActiveState=inactive\nResult=success\nExecMainStartTimestamp=\nInactiveEnterTimestamp=\n")), { state: "never" });
});
