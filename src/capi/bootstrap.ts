import { HOST_PATHS, type Settings } from "../config/settings.js";
import { ENABLE_COMMANDS, hostFiles } from "../host/files.js";
import type { Agent } from "./options.js";

/** One entry of a KubeadmConfigSpec's `files`, as Cluster API's bootstrap provider writes it. */
export interface BootstrapFile {
  path: string;
  owner: string;
  /** Octal, as a string: "0644". */
  permissions: string;
  content: string;
}

/** What `capi patch` puts into one kubeadmConfigSpec. Empty lists: remove what an earlier patch added. */
export interface Additions {
  files: BootstrapFile[];
  preKubeadmCommands: string[];
  postKubeadmCommands: string[];
}

/**
 * Ends every command `capi patch` adds, so that a later run recognises (and replaces or removes)
 * them whatever their text was: a shell comment, harmless in cloud-init's runcmd script and in
 * the /etc/kubeadm.sh that Ignition runs.
 */
export const COMMAND_MARKER = "# renew-certs capi patch";

const DOWNLOAD = `${HOST_PATHS.binary.replace(/[^/]+$/, "")}.renew-certs.download`;

/** The files of the host installation, from the one source `install` also uses. */
export function bootstrapFiles(settings: Settings): BootstrapFile[] {
  return hostFiles(settings).map((f) => ({
    path: f.path,
    owner: "root:root",
    permissions: `0${(f.mode & 0o7777).toString(8).padStart(3, "0")}`,
    content: f.content,
  }));
}

/**
 * The preKubeadmCommands entry that provides the executable: a check that it is there and runs
 * (preinstalled), or a download that is installed only when its sha256 matches. Either one ends
 * the bootstrap script with `exit 1` on failure, so kubeadm never runs and the machine never
 * becomes ready: a loud failure now rather than expired certificates in a year.
 */
export function agentCommand(agent: Agent): string {
  const bin = HOST_PATHS.binary;
  if (agent.kind === "preinstalled") {
    return `${bin} --version >/dev/null 2>&1 || { echo 'renew-certs: ${bin} is missing or does not run: build it into the machine image, or patch with --agent url=https://...,sha256=...' >&2; exit 1; } ${COMMAND_MARKER}`;
  }
  const dir = bin.replace(/\/[^/]+$/, "");
  return [
    `mkdir -p ${dir}`,
    `curl -fsSL --proto =https --proto-redir =https --retry 5 -o ${DOWNLOAD} '${agent.url}'`,
    `echo '${agent.sha256}  ${DOWNLOAD}' | sha256sum -c --status -`,
    `chmod 0755 ${DOWNLOAD}`,
    `mv -f ${DOWNLOAD} ${bin}`,
  ].join(" && ") + ` || { rm -f ${DOWNLOAD}; echo 'renew-certs: cannot install ${bin} from ${agent.url}: the download failed or its sha256 is not ${agent.sha256}' >&2; exit 1; } ${COMMAND_MARKER}`;
}

/** The postKubeadmCommands entry that loads the units and starts the timer. */
export function enableCommand(): string {
  return `${ENABLE_COMMANDS.join(" && ")} ${COMMAND_MARKER}`;
}

/** Everything one control plane gets for these settings; interval 0 gets nothing. */
export function additionsFor(settings: Settings, agent: Agent): Additions {
  if (settings.certificateRenewInterval === 0) return { files: [], preKubeadmCommands: [], postKubeadmCommands: [] };
  return { files: bootstrapFiles(settings), preKubeadmCommands: [agentCommand(agent)], postKubeadmCommands: [enableCommand()] };
}

// The host paths do not depend on the settings: the defaults list them all.
const OWN_PATHS = new Set(hostFiles().map((f) => f.path));

/** True for a `files` entry that `capi patch` owns (by its exact host path). */
export function isOwnFile(entry: unknown): boolean {
  return typeof entry === "object" && entry !== null && OWN_PATHS.has(String((entry as { path?: unknown }).path));
}

/** True for a command that `capi patch` added (it ends with COMMAND_MARKER). */
export function isOwnCommand(entry: unknown): boolean {
  return typeof entry === "string" && entry.trimEnd().endsWith(COMMAND_MARKER);
}
