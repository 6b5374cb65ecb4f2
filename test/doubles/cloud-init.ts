import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { run } from "../support/tools.js";

/** The part of a KubeadmConfigSpec that cloud-init carries out. */
export interface BootstrapSpec {
  files?: { path: string; content?: string; permissions?: string; owner?: string; encoding?: string }[];
  preKubeadmCommands?: string[];
  postKubeadmCommands?: string[];
}

/** What a played bootstrap did. */
export interface Played {
  status: number;
  stdout: string;
  stderr: string;
  /** Every systemctl call, its arguments joined by spaces. */
  systemctl: string[];
  /** True when the script got as far as kubeadm. */
  kubeadmRan: boolean;
}

/**
 * Test double of cloud-init in a Cluster API bootstrap, played into `root` instead of "/":
 * write_files writes each file with its permissions, then runcmd runs preKubeadmCommands,
 * kubeadm and postKubeadmCommands as one sh script (no `set -e`, as cloud-init writes it).
 * Absolute paths under /usr/local/bin in the commands are mapped into `root`; systemctl is a
 * recorder that, like systemctl, refuses to enable a unit whose file does not exist.
 */
export async function playCloudInit(root: string, spec: BootstrapSpec): Promise<Played> {
  for (const f of spec.files ?? []) {
    if (f.encoding) throw new Error(`the cloud-init test double does not decode ${f.encoding}`);
    const target = join(root, f.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, f.content ?? "");
    await chmod(target, parseInt(f.permissions ?? "0644", 8));
  }
  const bin = join(root, ".test-bin");
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, "systemctl"), `#!/bin/sh
echo "$*" >> "$SYSTEMCTL_LOG"
if [ "$1" = enable ]; then
  for u in "$@"; do
    case "$u" in enable|--*) ;; *) [ -f "$UNIT_DIR/$u" ] || { echo "Failed to enable unit: Unit file $u does not exist." >&2; exit 1; } ;; esac
  done
fi
`, { mode: 0o755 });
  const log = join(root, ".systemctl.log");
  await writeFile(log, "");
  const toRoot = (cmd: string): string => cmd.replaceAll("/usr/local/bin/", `${root}/usr/local/bin/`);
  const script = ["#!/bin/sh", ...(spec.preKubeadmCommands ?? []).map(toRoot), "echo kubeadm-ran", ...(spec.postKubeadmCommands ?? []).map(toRoot), ""].join("\n");
  const r = run("sh", ["-c", script], { env: { ...process.env, PATH: `${bin}:${process.env["PATH"]}`, SYSTEMCTL_LOG: log, UNIT_DIR: join(root, "etc/systemd/system") } });
  const systemctl = (await readFile(log, "utf8")).split("\n").filter((l) => l !== "");
  return { ...r, systemctl, kubeadmRan: r.stdout.split("\n").includes("kubeadm-ran") };
}
