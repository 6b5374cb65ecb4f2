import { createRequire } from "node:module";

/**
 * The path of the running standalone executable (a Node.js single executable application), or
 * undefined when renew-certs runs under `node` (then `install` needs --binary). The real default
 * of InstallOptions.selfExecutable.
 */
export function standaloneExecutable(): string | undefined {
  try {
    // require, not import(): a single executable application built with a code cache has no
    // dynamic import() in Node.js 20 (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING).
    const sea = createRequire(import.meta.url)("node:sea") as { isSea?: () => boolean };
    return sea.isSea?.() ? process.execPath : undefined;
  } catch {
    return undefined; // a Node.js without node:sea runs no single executable application
  }
}
