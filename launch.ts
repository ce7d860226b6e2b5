/**
 * `deno task llamafile ARGS`: starts `cli.ts` with the Deno permissions of the
 * mode ARGS ask for (the CLI without network, the server with its listen
 * address only), like a packed llamafile's launcher does. The child stays in this process
 * group; signals the terminal already delivered to it are not passed on (`launch_signals.ts`).
 *
 * @module
 */
import { mtmdBuildDir, mtmdLibraryPath } from "./ffi/library_path.ts";
import { inForegroundGroup } from "./ffi/process_group.ts";
import { forwardSignal, LAUNCH_SIGNALS } from "./lib/cli/launch_signals.ts";
import { planLaunch } from "./lib/cli/launch_plan.ts";
import { prepareSandboxDenoDir } from "./lib/sandbox/deno_dir.ts";
import { launchEnv } from "./lib/sandbox/permissions.ts";

/** The Deno directory of sandboxed runs from a checkout (see `lib/sandbox/deno_dir.ts`). */
function sandboxDenoDir(): string {
  const cache = Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  const dir = `${cache}/llamafile/deno-dir`;
  prepareSandboxDenoDir(dir);
  return dir;
}

/**
 * Builds libmtmd from llama.cpp's source when this run needs it and it is not built yet: one
 * line says so; a missing toolchain or a failed build is one line and exit 1.
 */
async function buildMtmdIfNeeded(): Promise<void> {
  if (mtmdLibraryPath() !== null) return;
  console.error(
    `llamafile: building libmtmd (images) from llama.cpp's source, once: a few minutes; cached in ${mtmdBuildDir()}`,
  );
  try {
    const { ensureMtmdBuild } = await import("./scripts/build_mtmd.ts");
    await ensureMtmdBuild();
  } catch (error) {
    console.error(`llamafile: ${(error as Error).message}`);
    Deno.exit(1);
  }
}

if (import.meta.main) {
  const plan = planLaunch(Deno.args);
  if (plan.needsMtmd) await buildMtmdIfNeeded();
  const cli = new URL("./cli.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...plan.flags, cli, ...Deno.args],
    // Packing bundles the app with the user's Deno directory (esbuild is cached there).
    env: {
      ...launchEnv(Deno.env.get("DENO_V8_FLAGS")),
      ...(plan.mode !== "pack" && plan.mode !== "upgrade" && { DENO_DIR: sandboxDenoDir() }),
    },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  for (const signal of LAUNCH_SIGNALS) {
    Deno.addSignalListener(signal, () => {
      if (!forwardSignal(signal, inForegroundGroup())) return;
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
