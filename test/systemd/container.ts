// A Debian root booted under systemd-nspawn with systemd as its PID 1, and commands run inside it.
// What works on a host whose own PID 1 is not systemd (no machined, no system bus): --register=no
// and --keep-unit (nspawn asks no one for a scope), --private-network (only a loopback of its own:
// nothing it serves can collide with the host's ports), --volatile=overlay (the root is a tmpfs
// over the cached image, which stays as debootstrap left it). Without machined there is no
// `systemctl -M` or `machinectl shell`: commands enter the container's namespaces with nsenter.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, readFileSync, closeSync } from "node:fs";

/** A host path made visible in the container. */
export interface Bind {
  host: string;
  /** Where inside (default: the same path). */
  container?: string;
  readOnly?: boolean;
}

/** What a command run in the container returned. */
export interface ExecResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** A booted container. */
export interface Container {
  /** Its init process, in the host's PID namespace. */
  pid: number;
  /** A path of the container's file system, as the host reaches it. */
  path(p: string): string;
  /** Runs a command inside (every namespace of its PID 1), with a clean root environment. */
  exec(args: string[], o?: { env?: Record<string, string>; input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Runs `sh -c script` inside. */
  sh(script: string): Promise<ExecResult>;
  /** systemd-nspawn's output: the container's console (boot messages), for failure reports. */
  console(): string;
  /** Shuts it down (SIGTERM to nspawn: an orderly poweroff), SIGKILL after 60 s. */
  stop(): Promise<void>;
}

const ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C.UTF-8", TERM: "dumb", SYSTEMD_PAGER: "", SYSTEMD_COLORS: "0" };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The processes below `pid`, depth first. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

/**
 * True when `pid` is PID 1 of its own PID namespace (NSpid: <host pid> 1) and already systemd:
 * before nspawn's child execs systemd it has not moved to the container's root yet, and a command
 * entering its namespaces then would run on the host's file system.
 */
function isInit(pid: number): boolean {
  try {
    return /^NSpid:\s+\d+\s+1$/m.test(readFileSync(`/proc/${pid}/status`, "utf8")) && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "systemd";
  } catch {
    return false;
  }
}

function collect(child: ChildProcess, input: string | undefined, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    // A command that exits without reading its input must not fail the test process (EPIPE).
    child.stdin!.on("error", () => undefined);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal ? 128 : -1), stdout, stderr: signal ? `${stderr}(killed by ${signal})` : stderr });
    });
    child.stdin!.end(input ?? "");
  });
}

/** Boots `image` and resolves once its systemd says the system is up (running or degraded). */
export async function bootContainer(o: { image: string; name: string; binds: Bind[]; consoleFile: string }): Promise<Container> {
  const args = [
    "--boot", "--register=no", "--keep-unit", "--private-network", "--volatile=overlay", "--console=read-only",
    `--directory=${o.image}`, `--machine=${o.name}`,
    ...o.binds.map((b) => `--bind${b.readOnly ? "-ro" : ""}=${b.host}:${b.container ?? b.host}`),
  ];
  const out = openSync(o.consoleFile, "w");
  const nspawn = spawn("systemd-nspawn", args, { stdio: ["ignore", out, out] });
  closeSync(out);
  let exited = false;
  const gone = new Promise<void>((r) => nspawn.once("exit", () => { exited = true; r(); }));
  // A test process that ends any other way must not leave a container running.
  const kill = (): void => { if (!exited) nspawn.kill("SIGKILL"); };
  process.once("exit", kill);
  const consoleText = (): string => { try { return readFileSync(o.consoleFile, "utf8"); } catch { return ""; } };

  let pid: number | undefined;
  for (let i = 0; i < 600 && pid === undefined; i++) {
    if (exited) throw new Error(`systemd-nspawn ${args.join(" ")} exited before the container booted:\n${consoleText()}`);
    pid = descendants(nspawn.pid!).find(isInit);
    if (pid === undefined) await sleep(100);
  }
  if (pid === undefined) {
    kill();
    throw new Error(`no init process appeared under systemd-nspawn within 60 s:\n${consoleText()}`);
  }
  const init = pid;
  const exec: Container["exec"] = (cmd, e = {}) => {
    const child = spawn("nsenter", ["--target", String(init), "--all", "--", ...cmd], { env: { ...ENV, ...e.env }, stdio: ["pipe", "pipe", "pipe"] });
    return collect(child, e.input, e.timeoutMs ?? 180_000);
  };
  const container: Container = {
    pid: init,
    path: (p) => `/proc/${init}/root${p}`,
    exec,
    sh: (script) => exec(["sh", "-c", script]),
    console: consoleText,
    async stop() {
      if (exited) return;
      nspawn.kill("SIGTERM");
      const timer = setTimeout(kill, 60_000);
      await gone;
      clearTimeout(timer);
      process.removeListener("exit", kill);
    },
  };
  // A moment after PID 1 starts, before it has made /run/systemd/system and its private socket,
  // systemctl says "offline" or cannot connect: ask again.
  let up = await exec(["systemctl", "is-system-running", "--wait"], { timeoutMs: 120_000 });
  for (let i = 0; i < 300 && (/^offline$/m.test(up.stdout) || /Failed to connect to bus/.test(up.stderr)); i++) {
    await sleep(200);
    up = await exec(["systemctl", "is-system-running", "--wait"], { timeoutMs: 120_000 });
  }
  if (!/^(running|degraded)$/m.test(up.stdout)) {
    await container.stop();
    throw new Error(`the container's systemd did not come up (${up.stdout.trim()} ${up.stderr.trim()}):\n${consoleText()}`);
  }
  return container;
}
