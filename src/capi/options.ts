import { DEFAULT_SETTINGS, type Settings } from "../config/settings.js";
import { RenewCertsError } from "../errors.js";

/** How the renew-certs executable reaches a control-plane host. */
export type Agent =
  | { kind: "preinstalled" }
  | { kind: "url"; url: string; sha256: string };

/** What `capi patch` does to every control plane. */
export interface PatchOptions {
  /** --certificate-renew-interval in days; 0 removes what an earlier patch added. */
  intervalDays: number;
  /** Default: preinstalled (the executable is in the machine image). */
  agent: Agent;
  /** systemd OnCalendar expression of the timer. Default: DEFAULT_SETTINGS.schedule ("daily"). */
  schedule?: string;
  /** The input's name for messages ("-" or absent: stdin). */
  source?: string;
}

const INTERVAL_HINT = "for example --certificate-renew-interval=60; 0 removes what an earlier patch added";

/** Parses --certificate-renew-interval: a whole number of days from 0 to the validity (365). */
export function parseInterval(value: string | undefined, validityDays = DEFAULT_SETTINGS.validityDays): number {
  if (value === undefined) throw new RenewCertsError("USAGE", `--certificate-renew-interval=DAYS is required: ${INTERVAL_HINT}`);
  if (!/^\d+$/.test(value.trim())) {
    throw new RenewCertsError("CONFIG", `--certificate-renew-interval must be a whole number of days (got "${value}"): ${INTERVAL_HINT}`);
  }
  const days = Number(value.trim());
  if (days > validityDays) {
    throw new RenewCertsError("CONFIG", `--certificate-renew-interval ${days} is longer than the certificates' validity (${validityDays} days): they would expire before renewal; choose fewer days, ${INTERVAL_HINT}`);
  }
  return days;
}

const AGENT_HINT = `--agent must be "preinstalled" or "url=https://…,sha256=<64 hex characters>"`;

/** Parses --agent: "preinstalled" (default) or "url=URL,sha256=HEX" (https only, the executable runs as root). */
export function parseAgent(value: string | undefined): Agent {
  if (value === undefined || value === "preinstalled") return { kind: "preinstalled" };
  // Split before "url=" / "sha256=" only: a URL may itself contain commas.
  const fields = new Map<string, string>();
  for (const part of value.split(/,(?=(?:url|sha256)=)/)) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    if ((key !== "url" && key !== "sha256") || fields.has(key)) throw new RenewCertsError("CONFIG", `${AGENT_HINT} (got "${value}")`);
    fields.set(key, part.slice(eq + 1));
  }
  const url = fields.get("url");
  const sha256 = fields.get("sha256");
  if (url === undefined || sha256 === undefined) throw new RenewCertsError("CONFIG", `${AGENT_HINT} (got "${value}"): both url= and sha256= are needed`);
  if (!/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new RenewCertsError("CONFIG", `--agent sha256 must be 64 hexadecimal characters (got "${sha256}", ${sha256.length} characters): use the output of "sha256sum renew-certs"`);
  }
  return { kind: "url", url: checkUrl(url), sha256: sha256.toLowerCase() };
}

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RenewCertsError("CONFIG", `--agent url "${url}" is not a URL: give the https address of the renew-certs executable`);
  }
  if (parsed.protocol !== "https:") {
    throw new RenewCertsError("CONFIG", `--agent url must use https (got "${url}"): the executable runs as root on every control-plane host, so it is downloaded only over https`);
  }
  // The URL goes into a shell command between single quotes.
  if (/['\s\\]/.test(url) || hasControlCharacter(url)) {
    throw new RenewCertsError("CONFIG", `--agent url "${url}" contains a quote, a backslash, a space or a control character: percent-encode it`);
  }
  return url;
}

function hasControlCharacter(s: string): boolean {
  return [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

/** Checks --schedule: one line that systemd will read as OnCalendar=. */
export function parseSchedule(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === "" || hasControlCharacter(value) || value.length > 200) {
    throw new RenewCertsError("CONFIG", `--schedule must be one systemd calendar expression such as "daily" or "*-*-* 03:00:00" (got ${JSON.stringify(value)}); check it with systemd-analyze calendar`);
  }
  return value.trim();
}

/** The settings shipped to every host: the defaults with the interval and the schedule. */
export function settingsFor(options: PatchOptions): Settings {
  return {
    ...DEFAULT_SETTINGS,
    manifests: [...DEFAULT_SETTINGS.manifests],
    certificateRenewInterval: options.intervalDays,
    schedule: options.schedule ?? DEFAULT_SETTINGS.schedule,
  };
}
