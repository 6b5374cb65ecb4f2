// Test double of the host's systemd: systemd is not the init system here, so systemctl cannot run.
// It records every systemctl call and answers is-enabled/is-active from a small state; calendar
// expressions are still checked by the real systemd-analyze.
import { realSystemd, type ExecResult, type SystemdHost } from "../../src/host/systemd.js";

/** A recording SystemdHost: `calls` holds every systemctl argument list, in order. */
export interface RecordingSystemd extends SystemdHost {
  calls: string[][];
  state: { enabled: boolean; active: boolean };
}

/** A systemd that controls every root (so a sandbox --root behaves like a live host) and records calls. */
export function recordingSystemd(o: { controls?: boolean; enabled?: boolean; active?: boolean; fail?: string } = {}): RecordingSystemd {
  const state = { enabled: o.enabled ?? false, active: o.active ?? false };
  const calls: string[][] = [];
  const reply = (stdout: string, status = 0): ExecResult => ({ status, stdout: `${stdout}\n`, stderr: "" });
  return {
    calls,
    state,
    controls: () => o.controls ?? true,
    checkCalendar: (e) => realSystemd.checkCalendar(e),
    async systemctl(args) {
      if (args[0] === "is-enabled") return state.enabled ? reply("enabled") : reply("disabled", 1);
      if (args[0] === "is-active") return state.active ? reply("active") : reply("inactive", 3);
      calls.push(args);
      if (o.fail && args.join(" ").startsWith(o.fail)) return { status: 1, stdout: "", stderr: "Failed to connect to bus: No such file or directory\n" };
      if (args[0] === "enable") state.enabled = true;
      if (args.includes("--now")) state.active = args[0] === "enable";
      if (args[0] === "disable") state.enabled = false;
      return reply("");
    },
  };
}
