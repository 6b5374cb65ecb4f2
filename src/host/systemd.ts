import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** What a subprocess returned. */
export interface ExecResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** The result of checking a systemd calendar expression. */
export type CalendarCheck =
  | { valid: true; normalized: string; nextElapse: string | undefined }
  | { valid: false; message: string }
  /** systemd-analyze is not installed: nothing could be checked. */
  | { valid: "unknown"; message: string };

/** The host's systemd, as install and uninstall use it; tests pass a recording double. */
export interface SystemdHost {
  /**
   * True when systemctl acts on the files under `root`: root is / and systemd is the running init
   * system (sd_booted(): /run/systemd/system exists). False in a container or an image build.
   */
  controls(root: string): boolean;
  /** Runs `systemctl ARGS...`. */
  systemctl(args: string[]): Promise<ExecResult>;
  /** Checks an OnCalendar expression with `systemd-analyze calendar`. */
  checkCalendar(expression: string): Promise<CalendarCheck>;
}

/** Runs a command without a shell; a missing command gives status 127. */
export function exec(cmd: string, args: string[]): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: "utf8", timeout: 120_000, env: { ...process.env, SYSTEMD_PAGER: "", SYSTEMD_COLORS: "0", LC_ALL: "C" } }, (err, stdout, stderr) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      if (code === "ENOENT") resolve({ status: 127, stdout: "", stderr: `${cmd}: command not found` });
      else resolve({ status: err ? (typeof code === "number" ? code : (err as { status?: number }).status ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Parses `systemd-analyze calendar` output (and its failure) into a CalendarCheck. Pure. */
export function parseCalendarOutput(r: ExecResult): CalendarCheck {
  if (r.status === 127) return { valid: "unknown", message: "systemd-analyze is not installed, so the schedule was not checked" };
  if (r.status !== 0) {
    const why = r.stderr.split("\n").map((l) => l.trim()).filter(Boolean).pop() ?? `exit status ${r.status}`;
    return { valid: false, message: why };
  }
  const field = (name: string): string | undefined => new RegExp(`^\\s*${name}:\\s*(.+)$`, "m").exec(r.stdout)?.[1]?.trim();
  return { valid: true, normalized: field("Normalized form") ?? "", nextElapse: field("Next elapse") };
}

/** The real host: /run/systemd/system, systemctl and systemd-analyze on PATH. */
export const realSystemd: SystemdHost = {
  controls: (root) => resolve(root) === "/" && existsSync("/run/systemd/system"),
  systemctl: (args) => exec("systemctl", args),
  checkCalendar: async (expression) => parseCalendarOutput(await exec("systemd-analyze", ["calendar", expression])),
};
