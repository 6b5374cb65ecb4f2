// A contender for the run lock, for the lock tests: node lock-holder.js LOCKDIR LOG ROUNDS.
// Each round it takes the lock, appends "enter PID" and "leave PID" around a short critical
// section, and releases it.
import { appendFileSync } from "node:fs";
import { acquireLock } from "../../src/renewal/lock.js";

const [dir, log, rounds] = process.argv.slice(2) as [string, string, string];
for (let i = 0; i < Number(rounds); i++) {
  const lock = await acquireLock(dir, 60_000);
  appendFileSync(log, `enter ${process.pid}\n`);
  await new Promise((r) => setTimeout(r, Math.random() * 10));
  appendFileSync(log, `leave ${process.pid}\n`);
  await lock.release();
}
