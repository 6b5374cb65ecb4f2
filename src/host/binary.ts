/**
 * The path of the running standalone executable (a Node.js single executable application), or
 * undefined when renew-certs runs under `node` (then `install` needs --binary). The real default
 * of InstallOptions.selfExecutable.
 */
export async function standaloneExecutable(): Promise<string | undefined> {
  try {
    const sea = (await import("node:sea")) as { isSea?: () => boolean };
    return sea.isSea?.() ? process.execPath : undefined;
  } catch {
    return undefined; // a Node.js without node:sea runs no single executable application
  }
}
