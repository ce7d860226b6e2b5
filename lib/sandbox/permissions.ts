/**
 * Layer 1 of the sandbox: the Deno permission flags of each mode, in one place, for the
 * `deno.json` tasks and the packed llamafile's launcher; and the revocation that narrows
 * them once start-up is over.
 *
 * Facts these rest on (Deno 2.9.6):
 * - Without `--no-prompt` a refused permission turns into a prompt on a terminal; with it,
 *   the call throws `Deno.errors.NotCapable`.
 * - `--allow-ffi` must be plain: a scoped `--allow-ffi=<dir>` breaks pointer reads and
 *   callbacks. It cannot be revoked either: after `revoke({ name: "ffi" })` bound symbols
 *   still run, but `UnsafePointerView`, `UnsafePointer.of` and new `UnsafeCallback`s throw.
 * - Reading or writing `/dev/stdin`, `/dev/stdout` or `/proc/self/fd/*` by path needs
 *   `--allow-all` whatever the flags name; use `Deno.stdin` / `Deno.stdout` instead. So
 *   neither mode gets `--allow-write=/dev/stdout`: it would grant nothing.
 * - A grant cannot be narrowed after start, only revoked. Paths the user names (model,
 *   prompt, grammar files) are known only after argument parsing, so reading is unscoped.
 * - Revoking `net` after `Deno.serve` listens keeps the listener accepting.
 * - Flag lists are comma-separated with no escape: a path with a comma cannot be named.
 *
 * @module
 */

/** Environment variables the app may read (`--allow-env`; `*` is a suffix wildcard). */
export const ENV_ALLOWLIST: readonly string[] = [
  "LLAMAFILE_*",
  "LLAMA_ARG_*",
  "LLAMA_API_KEY",
  "HOME",
  "XDG_CACHE_HOME",
  "TMPDIR",
  "NO_COLOR",
  "TERM",
  // Set (when unset) before a Vulkan device is opened: Mesa's one-file shader cache stays open,
  // so compiled shaders are cached under a sandbox that forbids opening files for writing.
  "MESA_DISK_CACHE_SINGLE_FILE",
];

/**
 * Environment for the `deno` process the launcher starts: no background update check
 * (it resolves a host name, opens sockets and reads CA files from a thread of our process),
 * no debugger forked by ggml when native code terminates (`GGML_NO_BACKTRACE`, read when
 * libggml loads), and Deno's default log level with its cache-database module silenced: the
 * sandboxed Deno directory refuses those databases on purpose (`deno_dir.ts`), and on a
 * terminal Deno would say so in six lines before any output. Its other messages and errors
 * still print. A launch also sets `DENO_V8_FLAGS` (see {@linkcode launchEnv}).
 */
export const LAUNCH_ENV: Readonly<Record<string, string>> = {
  DENO_LOG: "info,deno::cache::cache_db=off",
  DENO_NO_UPDATE_CHECK: "1",
  GGML_NO_BACKTRACE: "1",
};

/**
 * The V8 flags a launch starts with:
 * - The young generation starts at 8 MB, so that a one-shot run (a prompt, one answer) ends
 *   before its first garbage collection. V8 starts it at 1 MB: a start to the first token
 *   filled it twice, and the first scavenge took 3.3 ms of the JS thread instead of 0.5,
 *   because its helper threads measure the CPU's clock once per process (they read
 *   `/sys/devices/system/cpu/cpu0/tsc_freq_khz` and, on a kernel without it, sleep 1 then
 *   2 ms to time it). A longer run still collects, as often as its garbage needs.
 * - No Sparkplug, V8's first compiler tier (bytecode made machine code, unoptimized): a start
 *   to the first token ran 1.5-1.7 ms faster without it (medians of 41 interleaved runs), and
 *   what runs long still reaches Maglev and TurboFan. Measured without it: the server's
 *   stories260K streams (JS work dominates them) and a 2,000-token decode, no slower.
 */
export const LAUNCH_V8_FLAGS = "--min-semi-space-size=8,--no-sparkplug";

/**
 * `DENO_V8_FLAGS` for a launch: {@linkcode LAUNCH_V8_FLAGS}, then the flags of the user's own
 * `DENO_V8_FLAGS` (V8 takes the last value of a flag given twice, so the user's win).
 */
export function launchV8Flags(user: string | undefined): string {
  return user ? `${LAUNCH_V8_FLAGS},${user}` : LAUNCH_V8_FLAGS;
}

/**
 * The environment a launch gives `deno` (the launcher's, and `deno task llamafile`'s):
 * {@linkcode LAUNCH_ENV}, and `DENO_V8_FLAGS` from `userV8Flags` (see {@linkcode launchV8Flags}).
 */
export function launchEnv(userV8Flags: string | undefined): Record<string, string> {
  return { ...LAUNCH_ENV, DENO_V8_FLAGS: launchV8Flags(userV8Flags) };
}

/**
 * `--build-native`: an explicit build step, unsandboxed like `pack`: it runs npm, git, cmake
 * and the compiler, writes the llamafile cache, and starts the app twice to check the build.
 */
export const BUILD_PERMISSION_FLAGS: readonly string[] = [
  "--no-prompt",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-ffi",
];

/** `--unsecure`: both layers off, like llamafile. */
export const UNSECURE_PERMISSION_FLAGS: readonly string[] = ["--no-prompt", "--allow-all"];

const COMMON_FLAGS = [
  "--no-prompt",
  "--allow-read",
  "--allow-ffi",
  `--allow-env=${ENV_ALLOWLIST.join(",")}`,
];

function flagValue(what: string, value: string): string {
  if (value === "" || value.includes(",")) {
    throw new RangeError(
      `Cannot grant access to ${what} "${value}": Deno permission lists cannot hold an empty name or a comma`,
    );
  }
  return value;
}

/** Options of {@linkcode cliPermissionFlags}. */
export interface CliPermissionOptions {
  /**
   * The `--prompt-cache` file, the one file the CLI may write. The launcher finds it in the
   * user's arguments (`--prompt-cache FILE` or `--prompt-cache=FILE`) before starting deno.
   */
  promptCache?: string;
}

/**
 * Deno flags of the CLI: read anything, FFI, a short list of environment variables; no
 * network, no subprocesses, no writing except the prompt-cache file when one is named.
 *
 * @example
 * ```ts
 * cliPermissionFlags();
 * // ["--no-prompt", "--allow-read", "--allow-ffi", "--allow-env=LLAMAFILE_*,...,TERM"]
 * cliPermissionFlags({ promptCache: "cache.bin" }); // ... "--allow-write=cache.bin"
 * ```
 */
export function cliPermissionFlags(options: CliPermissionOptions = {}): string[] {
  const flags = [...COMMON_FLAGS];
  if (options.promptCache !== undefined) {
    flags.push(`--allow-write=${flagValue("prompt cache file", options.promptCache)}`);
  }
  return flags;
}

/** The address the server listens on. */
export interface ListenAddress {
  /** Host name or IP address (IPv6 without brackets, as `Deno.serve` takes it). */
  host: string;
  /** TCP port; 0 lets the kernel pick one. */
  port: number;
}

/** What the server may additionally do before its lockdown. */
export const SERVER_START_FLAGS: readonly string[] = [
  `--allow-env=${[...ENV_ALLOWLIST, "DISPLAY", "WAYLAND_DISPLAY"].join(",")}`,
  // request.signal aborts only when the client goes away, not after every response
  "--unstable-no-legacy-abort",
];

/** The flag that lets the server open the chat page in a browser before its lockdown. */
export const BROWSER_FLAG = "--allow-run=xdg-open";

/** Options of {@linkcode serverPermissionFlags}: where it listens, and whether it opens a browser. */
export interface ServerPermissionOptions extends ListenAddress {
  /**
   * Grant running `xdg-open` to open the chat page: only when it exists and `--nobrowser` was
   * not given (Deno prints a warning for an `--allow-run` program it cannot find).
   */
  browser?: boolean;
  /**
   * `--slot-save-path`: the `deno` binary that runs the slot file helper, started before the
   * sandbox (it alone reads and writes that folder).
   */
  slotFileHelper?: string;
}

/**
 * Deno flags of the server: as the CLI, minus writing, plus network access to its own
 * listen address only, and `xdg-open` to open the chat page when asked to. Read, env and run
 * are revoked in two steps by `applySandbox` (before the model loads, then once ready); seccomp forbids exec from
 * then on.
 *
 * The host is matched as written: `--host localhost` grants `localhost:PORT`, not
 * `127.0.0.1:PORT`, so pass the same string to `Deno.serve`.
 */
export function serverPermissionFlags(options: ServerPermissionOptions): string[] {
  const { host, port } = options;
  const hosts = host.split(",").map((h) => h.trim()).filter((h) => h !== "");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot grant network access to port "${port}": not an integer from 0 to 65535`,
    );
  }
  const hostPorts = (hosts.length > 0 ? hosts : [host]).map((h) => {
    const name = flagValue("host", h);
    return name.includes(":") && !name.startsWith("[") ? `[${name}]:${port}` : `${name}:${port}`;
  });
  const common = COMMON_FLAGS.filter((flag) => !flag.startsWith("--allow-env"));
  const run = [
    ...(options.browser ? ["xdg-open"] : []),
    ...(options.slotFileHelper !== undefined
      ? [flagValue("slot file helper", options.slotFileHelper)]
      : []),
  ];
  // --allow-run last: the packed launcher appends it to the rest (see launcher.ts).
  return [
    ...common,
    ...SERVER_START_FLAGS,
    `--allow-net=${hostPorts.join(",")}`,
    ...(run.length === 1 && options.browser ? [BROWSER_FLAG] : []),
    ...(run.length > 1 || (run.length === 1 && !options.browser)
      ? [`--allow-run=${run.join(",")}`]
      : []),
  ];
}

/** The permissions {@linkcode revokeDenoPermissions} may revoke. */
export type RevocablePermission = "read" | "write" | "env" | "run" | "net" | "sys";

/**
 * Revokes `names` for the rest of the process. FFI cannot be revoked (see the module notes).
 * Needs `--no-prompt`, or a later access turns into a prompt instead of `NotCapable`.
 *
 * @returns the permissions revoked, in order
 */
export function revokeDenoPermissions(
  names: readonly RevocablePermission[],
): RevocablePermission[] {
  for (const name of names) Deno.permissions.revokeSync({ name });
  return [...names];
}
