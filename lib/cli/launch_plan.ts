/**
 * The Deno permission flags a command line runs with, decided from what the option table
 * parsed (never from a scan of its own): used by the checkout's `deno task llamafile`
 * wrapper (`launch.ts`) and the tests; the packed llamafile's launcher scans the same words
 * with the table's list of value options (`launcherArgv()`).
 *
 * @module
 */
import {
  BUILD_PERMISSION_FLAGS,
  cliPermissionFlags,
  serverPermissionFlags,
  UNSECURE_PERMISSION_FLAGS,
} from "../sandbox/permissions.ts";
import { parseArgs } from "./option_table.ts";
import { optionEnv, parseCliArgs } from "./options.ts";
import { RPC_SERVER_TABLE } from "./options/rpc_server.ts";
import { PACK_TABLE } from "./options/pack.ts";

/** A launch decision. */
export interface LaunchPlan {
  mode: "cli" | "server" | "pack" | "upgrade" | "info" | "rpc-server" | "build";
  flags: string[];
  /**
   * The run loads libmtmd (a projector is used: the server with `--mmproj`, the CLI with
   * `--mmproj` and `--image`, `pack --mmproj`), which the checkout's launcher builds first
   * when it is not built yet.
   */
  needsMtmd?: boolean;
}

/** Options of {@linkcode planLaunch}. */
export interface PlanOptions {
  /** Whether a browser opener (`xdg-open`) exists (default: looked up on `PATH`). */
  browser?: boolean;
}

/** True when `name` is an executable file in a folder of `PATH`. */
export function onPath(name: string): boolean {
  let path: string | undefined;
  try {
    path = Deno.env.get("PATH");
  } catch {
    return false;
  }
  for (const dir of (path ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch {
      // not here
    }
  }
  return false;
}

/**
 * Decides the mode and flags for `args` (the user's arguments, `.args` already merged). A
 * command line the parser refuses gets the CLI's flags: the app then reports the usage error.
 */
export function planLaunch(args: readonly string[], plan: PlanOptions = {}): LaunchPlan {
  const first = args[0];
  if (first === "pack" || first === "upgrade") {
    let needsMtmd = false;
    if (first === "pack") {
      try {
        needsMtmd = parseArgs(PACK_TABLE, args.slice(1)).mmproj !== undefined;
      } catch {
        // the pack command reports the usage error
      }
    }
    // Packing writes the output file and runs `deno bundle` (and `npm pack`, `tar` to fetch
    // another platform's runtime).
    return {
      ...(needsMtmd && { needsMtmd }),
      mode: first,
      flags: [
        "--no-prompt",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-env",
        "--allow-ffi",
      ],
    };
  }
  if (first === "info") {
    return { mode: "info", flags: cliPermissionFlags() };
  }
  if (first === "rpc-server") {
    // ggml's loop listens from native code, which Deno's permissions do not see: the worker
    // needs no more than the CLI (reading the libraries, FFI), and seccomp guards the rest.
    let unsecure = false;
    try {
      unsecure = parseArgs(RPC_SERVER_TABLE, args.slice(1)).unsecure;
    } catch {
      // the app reports the usage error
    }
    return {
      mode: "rpc-server",
      flags: unsecure ? [...UNSECURE_PERMISSION_FLAGS] : cliPermissionFlags(),
    };
  }
  let options;
  try {
    options = parseCliArgs(args, optionEnv());
  } catch {
    return { mode: "cli", flags: cliPermissionFlags() };
  }
  const needsMtmd = options.mmproj !== undefined && (options.server || options.image.length > 0);
  const mtmd = needsMtmd ? { needsMtmd } : {};
  if (options.unsecure) {
    return {
      ...mtmd,
      mode: options.server ? "server" : "cli",
      flags: [...UNSECURE_PERMISSION_FLAGS],
    };
  }
  if (options.buildNative) return { mode: "build", flags: [...BUILD_PERMISSION_FLAGS] };
  if (options.server) {
    const browser = !options.nobrowser && (plan.browser ?? onPath("xdg-open"));
    return {
      ...mtmd,
      mode: "server",
      flags: serverPermissionFlags({
        host: options.host,
        port: options.port,
        browser,
        ...(options.slotSavePath !== undefined && { slotFileHelper: Deno.execPath() }),
      }),
    };
  }
  return {
    ...mtmd,
    mode: "cli",
    flags: cliPermissionFlags(
      options.promptCache === undefined ? {} : { promptCache: options.promptCache },
    ),
  };
}
