/**
 * `deno task llamafile ARGS`: starts `cli.ts` with the Deno permissions of the
 * mode ARGS ask for (the CLI without network, the server with its listen
 * address only), like a packed llamafile's launcher does.
 *
 * @module
 */
import { planLaunch } from "./lib/cli/launch_plan.ts";
import { LAUNCH_ENV } from "./lib/sandbox/permissions.ts";

if (import.meta.main) {
  const plan = planLaunch(Deno.args);
  const cli = new URL("./cli.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...plan.flags, cli, ...Deno.args],
    env: { ...LAUNCH_ENV },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(signal, () => {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    });
  }
  // Deno reports a child killed by signal N as code 128 + N, the shell's convention.
  Deno.exit((await child.status).code);
}
