// The host's systemd as seen from the DaemonSet's init container. The container has the host's
// root mounted (hostPath /) and shares the host's PID namespace (hostPID), so PID 1 is the host's
// systemd. `nsenter --target 1` runs the host's own systemctl in the host's mount, UTS, IPC,
// network and PID namespaces, as kured and kucero do. chroot into the mounted root was the other
// way: systemctl detects a chroot and ignores daemon-reload, start and restart there ("Running in
// chroot, ignoring request"), and what it resolves (/run/systemd, D-Bus, the unit's paths) would
// be the container's mounts, not the host's.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { exec, parseCalendarOutput, type ExecResult, type SystemdHost } from "../host/systemd.js";

/** The namespaces of PID 1 that host commands run in: all but the user and cgroup ones. */
export const NSENTER_ARGS: readonly string[] = ["--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--"];

/**
 * The host's systemd, reached from a container with the host's root at `hostRoot`: systemctl and
 * systemd-analyze run through `nsenter` (found on PATH; the image has it) in PID 1's namespaces.
 * systemctl is used only when the host booted with systemd (its /run/systemd/system exists).
 */
export function nsenterSystemd(hostRoot: string, nsenter = "nsenter"): SystemdHost {
  const enter = (cmd: string[]): Promise<ExecResult> => exec(nsenter, [...NSENTER_ARGS, ...cmd]);
  return {
    controls: (root) => resolve(root) === resolve(hostRoot) && existsSync(join(hostRoot, "run/systemd/system")),
    systemctl: (args) => enter(["systemctl", ...args]),
    checkCalendar: async (expression) => parseCalendarOutput(await enter(["systemd-analyze", "calendar", expression])),
  };
}
