/**
 * Which mode a command line asks for, and the Deno permission flags that mode
 * runs with (from `permissions.ts`). Used by the checkout's `deno task
 * llamafile` wrapper (`launch.ts`).
 *
 * @module
 */
import {
  cliPermissionFlags,
  serverPermissionFlags,
  UNSECURE_PERMISSION_FLAGS,
} from "../sandbox/permissions.ts";

/** A launch decision. */
export interface LaunchPlan {
  mode: "cli" | "server" | "pack" | "info";
  flags: string[];
}

function lastValue(args: readonly string[], names: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    for (const name of names) {
      if (word === name && i + 1 < args.length) value = args[i + 1];
      else if (word.startsWith(`${name}=`)) value = word.slice(name.length + 1);
    }
  }
  return value;
}

/** Decides the mode and flags for `args` (the user's arguments, `.args` already merged). */
export function planLaunch(args: readonly string[]): LaunchPlan {
  const first = args[0];
  if (first === "pack") {
    // Packing writes the output file and runs `deno bundle`.
    return {
      mode: "pack",
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
  const server = args.includes("--server");
  if (args.includes("--unsecure")) {
    return { mode: server ? "server" : "cli", flags: [...UNSECURE_PERMISSION_FLAGS] };
  }
  if (server) {
    const host = lastValue(args, ["--host"]) ?? "127.0.0.1";
    const portText = lastValue(args, ["--port"]) ?? "8080";
    const port = /^\d+$/.test(portText) ? Number(portText) : 8080;
    return {
      mode: "server",
      flags: serverPermissionFlags({ host, port: port <= 65535 ? port : 8080 }),
    };
  }
  const promptCache = lastValue(args, ["--prompt-cache"]);
  return {
    mode: "cli",
    flags: cliPermissionFlags(promptCache === undefined ? {} : { promptCache }),
  };
}
