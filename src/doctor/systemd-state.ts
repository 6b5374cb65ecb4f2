// What systemd knows about the timer and the service, read from systemctl's machine-readable
// output (`list-timers -o json`: microseconds since the epoch; `show --timestamp=unix`: "@seconds"),
// and said as people read it: "Wed 2026-12-02 00:00 UTC (in 2 h 34 min)", "failed with exit 7 (…)".

/** What `renew-certs run` exits with, for people (the README's exit code table). */
export const RUN_EXIT_MEANINGS: Readonly<Record<number, string>> = Object.freeze({
  0: "succeeded",
  1: "unexpected failure",
  2: "bad command line",
  3: "bad configuration",
  4: "bad input on disk",
  5: "another renew-certs run held the lock",
  6: "renewal failed; nothing was changed",
  7: "the control plane did not come back healthy; the previous files were restored",
  8: "the control plane did not come back healthy and restoring the previous files failed",
  9: "another host kept the restart lease, or the other API servers were unhealthy",
  11: "a certificate where a leaf belongs is a CA; nothing was changed",
  12: "a certificate carries a critical extension renew-certs does not keep; nothing was changed",
  13: "a CA has expired or is not yet valid; nothing was changed",
  14: "a renewed certificate would not be valid for a moment; nothing was changed",
  15: "a component is still down on the renewed certificates; the previous ones had expired, so they were kept, and the next run tries again",
  16: "the kubelet was not running and nothing in the run would have started it; nothing was changed",
});

/** A date and how far it is from `now`, in UTC: "Wed 2026-12-02 00:00 UTC (in 2 h 34 min)". Pure. */
export function formatWhen(at: Date, now: Date): string {
  const day = at.toLocaleDateString("en-US", { weekday: "short", timeZone: "UTC" });
  const abs = `${day} ${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  const ms = at.getTime() - now.getTime();
  const min = Math.floor(Math.abs(ms) / 60_000);
  const span = min < 1 ? "less than a minute" : min < 60 ? `${min} min` : min < 48 * 60 ? `${Math.floor(min / 60)} h ${min % 60} min` : `${Math.floor(min / 1440)} days`;
  return `${abs} (${ms >= 0 ? `in ${span}` : `${span} ago`})`;
}

/** The timer's next and last elapse from `systemctl list-timers UNIT --all -o json`; undefined when the output is not that. */
export function parseTimerList(stdout: string): { next: Date | undefined; last: Date | undefined } | undefined {
  let rows: unknown;
  try {
    rows = JSON.parse(stdout);
  } catch {
    return undefined; // a systemd older than 250 prints no JSON
  }
  const row = Array.isArray(rows) ? (rows[0] as { next?: unknown; last?: unknown } | undefined) : undefined;
  if (!row) return undefined;
  const date = (us: unknown): Date | undefined => (typeof us === "number" && us > 0 ? new Date(us / 1000) : undefined);
  return { next: date(row.next), last: date(row.last) };
}

/** The properties of `systemctl show UNIT -p A -p B…` (KEY=VALUE lines). Pure. */
export function parseShow(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** The service properties lastRunOf reads. */
export const SERVICE_PROPERTIES = ["ActiveState", "Result", "ExecMainCode", "ExecMainStatus", "ExecMainStartTimestamp", "InactiveEnterTimestamp", "ExecStartPre"] as const;

/** How the service's last run ended, as systemd remembers it (since the host booted). */
export type LastRun =
  | { state: "never" }
  | { state: "running"; since: Date | undefined }
  | { state: "ended"; at: Date | undefined; ok: boolean; detail: string };

/** "@1796160796" (show --timestamp=unix) as a date; undefined when empty or 0. */
function unixTime(v: string | undefined): Date | undefined {
  const m = /^@(\d+)$/.exec(v ?? "");
  return m && m[1] !== "0" ? new Date(Number(m[1]) * 1000) : undefined;
}

/** What an exit status means for `renew-certs run`. */
function exitDetail(status: number): string {
  return `exit ${status}${RUN_EXIT_MEANINGS[status] ? ` (${RUN_EXIT_MEANINGS[status]})` : ""}`;
}

/** The service's last run from its `systemctl show --timestamp=unix` properties (SERVICE_PROPERTIES). Pure. */
export function lastRunOf(p: Record<string, string>): LastRun {
  if (p["ActiveState"] === "activating" || p["ActiveState"] === "active") return { state: "running", since: unixTime(p["ExecMainStartTimestamp"]) };
  const at = unixTime(p["InactiveEnterTimestamp"]);
  if (!at && !unixTime(p["ExecMainStartTimestamp"])) return { state: "never" };
  const result = p["Result"] ?? "";
  if (result === "success") return { state: "ended", at, ok: true, detail: `succeeded (exit ${p["ExecMainStatus"] ?? 0})` };
  // The ExecStartPre= (install --directories-only) may be what failed: then ExecMain* are an older run's.
  const pre = /\bcode=exited ; status=(\d+)/.exec(p["ExecStartPre"] ?? "");
  if (result === "exit-code" && pre && pre[1] !== "0") return { state: "ended", at, ok: false, detail: `failed before the run: install --directories-only: ${exitDetail(Number(pre[1]))}` };
  const status = Number(p["ExecMainStatus"] ?? "");
  const detail = result === "exit-code" ? `failed with ${exitDetail(status)}`
    : result === "signal" || result === "core-dump" ? `killed by signal ${status}`
    : result === "timeout" ? "killed: it ran longer than TimeoutStartSec"
    : `failed (${result || "unknown result"})`;
  return { state: "ended", at, ok: false, detail };
}
