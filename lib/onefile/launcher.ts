/**
 * The POSIX `sh` launcher: the first bytes of a llamafile (DESIGN.md §5).
 *
 * What the generated script does, with nothing but the tools of a stock Debian (`sh`, `ls`,
 * `tail`, `head`, `gzip`, `sha256sum`, `mkdir`, `mv`, `rm`, `chmod`, `id`, `uname`):
 *
 * 0. runs nothing until it has read itself whole: after the second line, the script is one
 *    brace group that ends with the launcher's last two bytes (`}` and a newline), and a shell
 *    parses a whole compound command before it runs any of it. A llamafile cut short inside
 *    its launcher (an interrupted download) would otherwise run the part of the script that is
 *    left and could end with status 0 and no output; cut, the group is a syntax error. The
 *    second line sends the shell's own messages to `/dev/null` while it parses and sets an
 *    `EXIT` trap that says the file is truncated (dash, bash, busybox sh and zsh all run it
 *    after a syntax error); the group's first command removes both. The second line is itself
 *    one compound command, so a cut inside it is a syntax error that runs nothing; a file cut
 *    inside its first line (`#!/bin/sh`) is an empty script to `sh`; a file cut in the
 *    launcher's last byte only (the newline after `}`) runs whole, and the app reports the
 *    truncated archive. This costs no process: a size check with `ls` cost a fork and an exec
 *    on every start (1.4 ms of CPU, about 17 ms of a start on a busy 2-core machine);
 * 1. finds itself (`$0` made absolute with `$PWD`, no subshell) and picks the runtime: `$LLAMAFILE_PLATFORM` when set,
 *    else the platform `uname -sm` names; one line naming the platforms it holds when it holds
 *    none for this machine;
 * 2. works out the mode from the `.args` words baked in at pack time and the user's arguments
 *    (`--server`, `--host`, `--port`, `--prompt-cache`, `--unsecure`), skipping the values of
 *    options that take one, so `-p --server` is a prompt;
 * 3. uses `${XDG_CACHE_HOME:-$HOME/.cache}/llamafile/<hash>/` when it exists (a warm start is a
 *    `test -d` and an `exec`), or `${TMPDIR:-/tmp}/llamafile-<uid>/<hash>/`; otherwise extracts
 *    the platform's runtime entries (never the weights) into a temporary folder beside it, then
 *    renames it into place. A DEFLATE entry is cut out of the file at the offset the packer
 *    wrote here (`tail -c +N | head -c M`), framed as a gzip member (10-byte header, then the
 *    entry's CRC-32 and size as the trailer) and inflated by `gzip -dc`, which checks the CRC;
 *    each file is then checked against its SHA-256 (the manifest's) with `sha256sum`. Two
 *    first runs at once each extract their own folder; the loser's is removed. When the home
 *    cache is not writable the `$TMPDIR` one is used;
 * 4. `exec`s `deno run --no-config --cached-only` with the mode's permission flags (from
 *    `permissions.ts`), `LLAMAFILE_SELF` (this file), `LLAMAFILE_LIBDIR` and `DENO_DIR` set;
 *    under `$LLAMAFILE_EMULATOR` when set (e.g. `qemu-aarch64-static`, to run another
 *    platform's runtime where the kernel has no `binfmt_misc` entry for it).
 *
 * Every number the script needs is written into it after the archive's layout is known, and
 * the script is padded to a size fixed before the layout (see {@linkcode launcherSizeBound}),
 * so the packer writes a placeholder first and the script over it last.
 *
 * @module
 */

import { formatBytes } from "../util/format_bytes.ts";
import { ARGS_SPLICE } from "./args_file.ts";
import { BLOCKED_DENO_CACHES } from "../sandbox/deno_dir.ts";
import { PLATFORMS } from "./platforms.ts";
import {
  BUILD_PERMISSION_FLAGS,
  cliPermissionFlags,
  LAUNCH_ENV,
  LAUNCH_V8_FLAGS,
  serverPermissionFlags,
  UNSECURE_PERMISSION_FLAGS,
} from "../sandbox/permissions.ts";

/** One runtime file the launcher extracts. */
export interface LauncherEntry {
  /** Entry name in the archive (for messages), e.g. `runtime/linux-x64/deno`. */
  name: string;
  /** Path of the extracted file inside the cache folder, e.g. `deno` or `lib/libggml-base.so`. */
  path: string;
  /** Unix permission bits of the extracted file. */
  mode: number;
  /** 0 (STORED) or 8 (DEFLATE). */
  method: number;
  /** Absolute offset of the entry's data in the llamafile. */
  dataOffset: number;
  /** Bytes of stored data. */
  compressedSize: number;
  /** Bytes once inflated. */
  size: number;
  /** CRC-32 of the inflated data. */
  crc32: number;
  /** Lower-case hex SHA-256 of the inflated data. */
  sha256: string;
}

/** The runtime of one platform, as the launcher extracts it. */
export interface LauncherRuntime {
  /** A key of {@linkcode PLATFORMS}, e.g. `linux-arm64`. */
  platform: string;
  /** Name of its cache folder (hex digits). */
  hash: string;
  /** Its files (the shared app included), in extraction order. */
  entries: readonly LauncherEntry[];
}

/** Everything the launcher text depends on. */
export interface LauncherSpec {
  /** One line naming the versions, e.g. `llamafile.ts 0.1.0 (deno 2.9.6, llama.cpp v0.5.0)`. */
  version: string;
  /** The runtimes it holds, one per platform. */
  runtimes: readonly LauncherRuntime[];
  /** Path of the bundled app inside the cache folder. */
  app: string;
  /** Folder of the shared libraries inside the cache folder. */
  libDir: string;
  /** The `.args` words (with at most one {@linkcode ARGS_SPLICE}), for the mode scan. */
  args: readonly string[];
  /** What the script must know of the command line (from the option table). */
  argv: LauncherArgv;
}

/**
 * The command line as the launcher's mode scan sees it, given by the option table (the
 * launcher reads words the way the app's parser does, without importing it).
 */
export interface LauncherArgv {
  /** Every spelling of the options whose value is the next word. */
  valueOptions: readonly string[];
  /** The server's default listen address. */
  defaultHost: string;
  /** The server's default port. */
  defaultPort: number;
  /** The first words that name a subcommand (`pack`, `info`, ...): no mode scan for those. */
  subcommands: readonly string[];
}

/** Environment variable that names the platform whose runtime to run, whatever `uname` says. */
export const PLATFORM_ENV = "LLAMAFILE_PLATFORM";

/** Environment variable naming a program the runtime is started under (an emulator). */
export const EMULATOR_ENV = "LLAMAFILE_EMULATOR";

/** Environment variable that makes the launcher print the deno command line instead of running it. */
export const LAUNCHER_DRY_RUN_ENV = "LLAMAFILE_LAUNCHER_DRY_RUN";

/** The launcher is padded to a multiple of this many bytes. */
export const LAUNCHER_BLOCK = 4096;

/** Quotes `word` for `sh`: `'...'`, with `'` written as `'\''`. */
export function shellQuote(word: string): string {
  if (word.includes("\0")) {
    throw new TypeError(`Cannot quote ${JSON.stringify(word)} for sh: it contains a NUL character`);
  }
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The gzip member trailer of an entry, as `printf` octal escapes: CRC-32 then the size modulo
 * 2^32, both little-endian.
 */
export function gzipTrailerEscapes(crc32: number, size: number): string {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, crc32 >>> 0, true);
  view.setUint32(4, size % 2 ** 32, true);
  return Array.from(bytes, (b) => `\\${b.toString(8).padStart(3, "0")}`).join("");
}

function _check(spec: LauncherSpec): void {
  if (spec.runtimes.length === 0) {
    throw new RangeError("Cannot build a launcher that holds no runtime");
  }
  const safe = /^[A-Za-z0-9_.+-]+(\/[A-Za-z0-9_.+-]+)*$/;
  const plain = (path: string) =>
    safe.test(path) && !path.split("/").some((s) => s === "." || s === "..");
  for (const path of [spec.app, spec.libDir]) {
    if (!plain(path)) {
      throw new RangeError(
        `Cannot build a launcher that runs "${path}": not a plain relative path`,
      );
    }
  }
  const seen = new Set<string>();
  for (const runtime of spec.runtimes) {
    if (!Object.hasOwn(PLATFORMS, runtime.platform) || seen.has(runtime.platform)) {
      throw new RangeError(
        `Cannot build a launcher for platform "${runtime.platform}": unknown or repeated platform`,
      );
    }
    seen.add(runtime.platform);
    if (!/^[0-9a-f]{8,64}$/.test(runtime.hash)) {
      throw new RangeError(
        `Cannot build a launcher with hash "${runtime.hash}": not 8 to 64 hex digits`,
      );
    }
    for (const entry of runtime.entries) {
      if (!plain(entry.path)) {
        throw new RangeError(
          `Cannot build a launcher that extracts "${entry.path}": not a plain relative path`,
        );
      }
      if (entry.method !== 0 && entry.method !== 8) {
        throw new RangeError(
          `Cannot build a launcher that extracts "${entry.name}": method ${entry.method} is not STORED or DEFLATE`,
        );
      }
      if (!/^[0-9a-f]{64}$/.test(entry.sha256)) {
        throw new RangeError(
          `Cannot build a launcher for "${entry.name}": bad SHA-256 "${entry.sha256}"`,
        );
      }
    }
  }
}

/** `a runtime for linux-x64 only`, `runtimes for linux-x64, linux-arm64 only`. */
export function heldRuntimes(platforms: readonly string[]): string {
  return `${platforms.length === 1 ? "a runtime" : "runtimes"} for ${platforms.join(", ")} only`;
}

/** Placeholder words the mode's flag lists carry until the script fills them in. */
const _NET = "\u0000net";
const _WRITE = "\u0000write";

/**
 * Replaces the one word of `flags` that holds `probe` with `placeholder`, checking that no
 * other word depends on it.
 */
function _slot(
  flags: readonly string[],
  word: string,
  placeholder: string,
  what: string,
): string[] {
  const at = flags.indexOf(word);
  if (
    at < 0 || flags.indexOf(word, at + 1) >= 0 ||
    flags.some((f, i) => i !== at && f.includes("llamafile-probe"))
  ) {
    throw new Error(
      `Cannot build the launcher: permissions.ts ${what} flags do not hold exactly one "${word}" word`,
    );
  }
  return flags.map((f, i) => (i === at ? placeholder : f));
}

/**
 * The permission flag sets from `permissions.ts`, with the listen address and the prompt-cache
 * file as placeholders the script fills in at run time; checked to have the shape the script
 * assumes (one `--allow-net=HOST:PORT` word, IPv6 hosts in brackets; one `--allow-write=FILE`).
 */
function _flags(): {
  cli: string[];
  server: string[];
  serverBrowser: string[];
  promptCache: string[];
  unsecure: string[];
  build: string[];
} {
  const probe = "llamafile-probe";
  const server = _slot(
    serverPermissionFlags({ host: probe, port: 1 }),
    `--allow-net=${probe}:1`,
    _NET,
    "server",
  );
  const serverBrowser = _slot(
    serverPermissionFlags({ host: probe, port: 1, browser: true }),
    `--allow-net=${probe}:1`,
    _NET,
    "server",
  );
  const v6 = _slot(
    serverPermissionFlags({ host: "::1", port: 1 }),
    "--allow-net=[::1]:1",
    _NET,
    "server",
  );
  if (v6.join("\n") !== server.join("\n")) {
    throw new Error(
      "Cannot build the launcher: permissions.ts server flags depend on the host beyond --allow-net",
    );
  }
  const promptCache = _slot(
    cliPermissionFlags({ promptCache: probe }),
    `--allow-write=${probe}`,
    _WRITE,
    "prompt-cache",
  );
  return {
    cli: cliPermissionFlags(),
    server,
    serverBrowser,
    promptCache,
    unsecure: [...UNSECURE_PERMISSION_FLAGS],
    build: [...BUILD_PERMISSION_FLAGS],
  };
}

/**
 * The launcher script for `spec`, for a launcher of `size` bytes once padded (the script checks
 * that its file is at least that long). Deterministic: the same spec gives the same text.
 *
 * @throws {RangeError} On no runtime, an unknown platform, a bad hash or an unsafe path.
 */
export function launcherScript(spec: LauncherSpec, size: number): string {
  _check(spec);
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(`Cannot build a launcher of ${size} bytes: not a positive integer`);
  }
  const q = shellQuote;
  const flags = _flags();
  const words = (list: readonly string[]) =>
    list.map((
      w,
    ) => (w === _NET
      ? '"--allow-net=$lf_net"'
      : w === _WRITE
      ? '"--allow-write=$lf_pcache"'
      : q(w))
    )
      .join(" ");
  const splice = spec.args.indexOf(ARGS_SPLICE);
  const before = splice < 0 ? spec.args : spec.args.slice(0, splice);
  const after = splice < 0 ? [] : spec.args.slice(splice + 1).filter((w) => w !== ARGS_SPLICE);
  const valueOptions = spec.argv.valueOptions.filter(
    (name) => !["--host", "--port", "--prompt-cache", "--slot-save-path"].includes(name),
  );
  const held = spec.runtimes.map((r) => r.platform);
  const holds = heldRuntimes(held);
  const env = Object.entries(LAUNCH_ENV).sort(([a], [b]) => (a < b ? -1 : 1));
  const unames = Object.values(PLATFORMS).map((p) =>
    `    ${p.uname.map(q).join(" | ")}) lf_platform=${p.name} ;;`
  );
  const hashes = spec.runtimes.map((r) => `  ${r.platform}) lf_hash=${r.hash} ;;`);
  const payloads = spec.runtimes.flatMap((runtime) => {
    // The Deno directory's SQLite caches are folders, so the sandboxed process holds no
    // writable handle on them (see lib/sandbox/deno_dir.ts).
    const dirs = [
      ...new Set([
        ...runtime.entries.map((e) => e.path.split("/").slice(0, -1).join("/")),
        ...BLOCKED_DENO_CACHES.map((name) => `deno_dir/${name}`),
      ]),
    ]
      .filter((d) => d !== "")
      .flatMap((d) => d.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/")));
    const mkdirs = [...new Set(dirs)].map((d) => `"$lf_tmp/${d}"`).join(" ");
    return [
      `    ${runtime.platform})`,
      ...(mkdirs ? [`      mkdir ${mkdirs} 2>/dev/null || return 1`] : []),
      `      printf 'llamafile: first run: extracting the ${runtime.platform} runtime (${
        formatBytes(runtime.entries.reduce((sum, e) => sum + e.size, 0))
      }: deno, the app, libllama) into %s\\n' "$lf_parent/$lf_hash" >&2`,
      ...runtime.entries.map((e) =>
        `      lf_put ${q(e.path)} ${e.mode.toString(8)} ${e.method} ${
          e.dataOffset + 1
        } ${e.compressedSize} ` +
        `'${gzipTrailerEscapes(e.crc32, e.size)}' ${e.sha256} ${q(e.name)} || return 2`
      ),
      "      ;;",
    ];
  });
  const emulator = `\${${EMULATOR_ENV}:+"$${EMULATOR_ENV}"}`;

  const lines = [
    "#!/bin/sh",
    // First, before anything else can run: the shell's messages go to /dev/null and a trap
    // says the file is truncated, until the brace group that follows has been read whole and
    // its first command takes both back (see the module doc). One compound command, so that a
    // file cut inside it is a syntax error and runs nothing.
    `{ exec 9>&2 2>/dev/null; trap 'printf "llamafile: Cannot run \\"%s\\": the file is truncated (shorter than its ${size}-byte launcher)\\n" "$0" >&9; exit 1' EXIT; [ -n "\${ZSH_VERSION-}" ] && emulate sh; }`,
    "{ trap - EXIT; exec 2>&9 9>&-",
    `# ${spec.version}`,
    "# This is a llamafile: a POSIX sh launcher followed by a ZIP archive (unzip -l lists it).",
    "# Run it: ./THIS_FILE --help. On first run it extracts the runtime of this platform (never",
    "# the weights) to ${XDG_CACHE_HOME:-~/.cache}/llamafile/<hash>/ and reads the weights in place.",
    `# Runtimes: ${held.join(", ")}.`,
    'lf_fail() { printf \'llamafile: %s\\n\' "$1" >&2; exit "${2:-1}"; }',
    "",
    "# Where am I? ($PWD, not a subshell that runs pwd: the shell keeps it right.)",
    "case $0 in /*) lf_self=$0 ;; *) lf_self=${PWD%/}/${0#./} ;; esac",
    '[ -f "$lf_self" ] || lf_fail "Cannot find this llamafile: \\"$lf_self\\" is not a file"',
    "",
    `# Which runtime: $${PLATFORM_ENV}, else the one uname names.`,
    `lf_platform=\${${PLATFORM_ENV}-}`,
    'if [ -z "$lf_platform" ]; then',
    "  lf_uname=$(uname -sm 2>/dev/null)",
    "  case $lf_uname in",
    ...unames,
    `    *) lf_fail "Cannot run on \${lf_uname:-this system}: this llamafile holds ${holds}" ;;`,
    "  esac",
    `  lf_why="$lf_uname ($lf_platform)"`,
    "else",
    `  lf_why="${PLATFORM_ENV}=$lf_platform"`,
    "fi",
    "case $lf_platform in",
    ...hashes,
    `  *) lf_fail "Cannot run on $lf_why: this llamafile holds ${holds}" ;;`,
    "esac",
    "",
    "# Which mode: .args words, then the user's, then the .args words after '...'.",
    // llama.cpp's LLAMA_ARG_HOST and LLAMA_ARG_PORT stand for --host and --port.
    `lf_server= lf_unsecure= lf_build= lf_nobrowser= lf_host=\${LLAMA_ARG_HOST:-${
      q(spec.argv.defaultHost)
    }} lf_port=\${LLAMA_ARG_PORT:-${spec.argv.defaultPort}} lf_pcache= lf_has_pcache= lf_slots= lf_skip=`,
    "lf_scan() {",
    '  for lf_w in "$@"; do',
    "    case $lf_skip in",
    "      host) lf_host=$lf_w ;;",
    "      port) lf_port=$lf_w ;;",
    "      pcache) lf_pcache=$lf_w lf_has_pcache=1 ;;",
    "      slots) lf_slots=1 ;;",
    "    esac",
    '    if [ -n "$lf_skip" ]; then lf_skip=; continue; fi',
    "    case $lf_w in",
    "      --server) lf_server=1 ;;",
    "      --nobrowser) lf_nobrowser=1 ;;",
    "      --unsecure) lf_unsecure=1 ;;",
    "      --build-native) lf_build=1 ;;",
    "      --host) lf_skip=host ;;",
    "      --host=*) lf_host=${lf_w#*=} ;;",
    "      --port) lf_skip=port ;;",
    "      --port=*) lf_port=${lf_w#*=} ;;",
    "      --prompt-cache) lf_skip=pcache ;;",
    "      --prompt-cache=*) lf_pcache=${lf_w#*=} lf_has_pcache=1 ;;",
    "      --slot-save-path) lf_skip=slots ;;",
    "      --slot-save-path=*) lf_slots=1 ;;",
    `      ${valueOptions.map(q).join("|")}) lf_skip=value ;;`,
    "    esac",
    "  done",
    "}",
    "case ${1-} in",
    `  ${spec.argv.subcommands.map(q).join("|")}) ;;`,
    `  *) lf_scan${before.length ? " " + words(before) : ""}; lf_scan "$@"${
      after.length ? `; lf_scan ${words(after)}` : ""
    } ;;`,
    "esac",
    "lf_mode=cli",
    'if [ -n "$lf_unsecure" ]; then',
    "  lf_mode=unsecure",
    'elif [ -n "$lf_build" ]; then',
    "  lf_mode=build",
    'elif [ -n "$lf_server" ]; then',
    '  case $lf_port in *[!0-9]* | "") lf_p=x ;; *) lf_p=${lf_port#"${lf_port%%[!0]*}"} ;; esac',
    "  case $lf_p in",
    "    x | ??????*) ;;  # not a port: the app reports it, with no network access granted",
    '    ?????) [ "$lf_p" -le 65535 ] && lf_mode=server ;;',
    "    *) lf_mode=server ;;",
    "  esac",
    "  # --host takes several addresses, comma-separated: each gets the port.",
    "  lf_net= lf_ifs=$IFS",
    '  [ "$lf_mode" = server ] && { set -f; IFS=,; for lf_h in $lf_host; do IFS=$lf_ifs',
    "    case $lf_h in",
    '      "") ;;',
    "      \\[*) lf_net=${lf_net:+$lf_net,}$lf_h:${lf_p:-0} ;;",
    '      *:*) lf_net="${lf_net:+$lf_net,}[$lf_h]:${lf_p:-0}" ;;',
    "      *) lf_net=${lf_net:+$lf_net,}$lf_h:${lf_p:-0} ;;",
    "    esac",
    "  done; IFS=$lf_ifs; set +f; }",
    '  [ "$lf_mode" = server ] && [ -z "$lf_net" ] &&',
    `    lf_fail "Cannot grant access to host \\"$lf_host\\": Deno permission lists cannot hold an empty name" 2`,
    'elif [ -n "$lf_has_pcache" ]; then',
    "  lf_mode=pcache",
    "  case $lf_pcache in",
    `    "" | *,*) lf_fail "Cannot grant access to prompt cache file \\"$lf_pcache\\": Deno permission lists cannot hold an empty name or a comma" 2 ;;`,
    "  esac",
    "fi",
    "",
    "# The runtime: cached, or extracted once.",
    "lf_put() {  # path mode method offset+1 size gzip-trailer sha256 entry-name",
    "  lf_f=$lf_tmp/$1",
    '  if [ "$3" = 8 ]; then',
    '    { printf \'\\037\\213\\010\\000\\000\\000\\000\\000\\000\\377\'; tail -c +"$4" "$lf_self" | head -c "$5"; printf "$6"; } </dev/null 2>/dev/null |',
    '      gzip -dc >"$lf_f" 2>/dev/null',
    "  else",
    '    tail -c +"$4" "$lf_self" </dev/null 2>/dev/null | head -c "$5" >"$lf_f"',
    "  fi",
    '  lf_sum=$(sha256sum <"$lf_f" 2>/dev/null) || lf_sum=',
    "  case $lf_sum in",
    '    "$7 "*) chmod "$2" "$lf_f" ;;',
    `    *) lf_bad=$8; return 1 ;;`,
    "  esac",
    "}",
    "lf_payload() {  # the files of this platform's runtime into $lf_tmp",
    "  case $lf_platform in",
    ...payloads,
    "  esac",
    "}",
    "lf_extract() {  # parent folder; returns 1 when it cannot be written, 2 on a bad payload",
    "  lf_parent=$1",
    '  mkdir -p -- "$lf_parent" 2>/dev/null && [ -w "$lf_parent" ] || return 1',
    "  lf_tmp=$lf_parent/.$lf_hash.tmp.$$",
    '  rm -rf -- "$lf_tmp" && mkdir -- "$lf_tmp" 2>/dev/null || return 1',
    "  lf_payload || return $?",
    '  [ -d "$lf_parent/$lf_hash" ] && ! lf_ok "$lf_parent/$lf_hash" && rm -rf -- "$lf_parent/$lf_hash"',
    '  mv -- "$lf_tmp" "$lf_parent/$lf_hash" 2>/dev/null',
    '  rm -rf -- "$lf_parent/$lf_hash/${lf_tmp##*/}" "$lf_tmp"',
    '  [ -d "$lf_parent/$lf_hash" ] || return 1',
    "  lf_dir=$lf_parent/$lf_hash",
    "}",
    "lf_dir= lf_home=${XDG_CACHE_HOME-}",
    "case $lf_home in /*) ;; *) lf_home=${HOME:+$HOME/.cache} ;; esac",
    "case $lf_home in /*) lf_home=$lf_home/llamafile ;; *) lf_home= ;; esac",
    `lf_ok() { [ -d "$1" ] && [ -x "$1/deno" ] && [ -f "$1/${spec.app}" ]; }`,
    `if [ -n "\${${LAUNCHER_DRY_RUN_ENV}-}" ]; then`,
    "  lf_dir=${lf_home:-/tmp}/$lf_hash",
    'elif [ -n "$lf_home" ] && lf_ok "$lf_home/$lf_hash"; then',
    "  lf_dir=$lf_home/$lf_hash",
    "else",
    "  lf_temp=${TMPDIR:-/tmp}/llamafile-$(id -u)",
    '  if lf_ok "$lf_temp/$lf_hash" && [ -O "$lf_temp" ] && [ ! -L "$lf_temp" ]; then',
    "    lf_dir=$lf_temp/$lf_hash",
    "  else",
    "    for lf_tool in tail head gzip sha256sum; do",
    '      command -v "$lf_tool" >/dev/null 2>&1 ||',
    '        lf_fail "Cannot extract the runtime: the $lf_tool command is missing"',
    "    done",
    "    lf_bad= lf_rc=1",
    '    [ -n "$lf_home" ] && { lf_extract "$lf_home"; lf_rc=$?; }',
    '    if [ "$lf_rc" = 1 ]; then',
    '      mkdir -m 700 -- "$lf_temp" 2>/dev/null',
    '      if [ -O "$lf_temp" ] && [ ! -L "$lf_temp" ]; then lf_extract "$lf_temp"; lf_rc=$?; fi',
    "    fi",
    '    if [ "$lf_rc" = 2 ]; then',
    '      rm -rf -- "$lf_tmp"',
    '      lf_fail "Cannot extract the runtime from \\"$lf_self\\": entry \\"$lf_bad\\" fails its SHA-256 check (the file is corrupt or truncated)"',
    "    fi",
    '    [ -n "$lf_dir" ] || lf_fail "Cannot extract the runtime: neither \\"${lf_home:-\\$HOME/.cache/llamafile}\\" nor \\"$lf_temp\\" is writable"',
    "  fi",
    "fi",
    "",
    "# Run.",
    `LLAMAFILE_SELF=$lf_self LLAMAFILE_LIBDIR=$lf_dir/${spec.libDir} DENO_DIR=$lf_dir/deno_dir${
      env.map(([k, v]) => ` ${k}=${q(v)}`).join("")
    }`,
    // Our V8 flags first, the user's after them (see launchV8Flags()).
    `DENO_V8_FLAGS=${q(LAUNCH_V8_FLAGS)}\${DENO_V8_FLAGS:+,\$DENO_V8_FLAGS}`,
    `export LLAMAFILE_SELF LLAMAFILE_LIBDIR DENO_DIR DENO_V8_FLAGS${
      env.map(([k]) => ` ${k}`).join("")
    }`,
    "case $lf_mode in",
    `  unsecure) set -- ${words(flags.unsecure)} "$lf_dir/${spec.app}" "$@" ;;`,
    `  build) set -- ${words(flags.build)} "$lf_dir/${spec.app}" "$@" ;;`,
    "  server)",
    "    # xdg-open only where it exists: Deno warns about an --allow-run program it cannot find;",
    "    # with --slot-save-path, deno itself runs the slot file helper (started before the sandbox).",
    "    lf_run=",
    '    [ -z "$lf_nobrowser" ] && command -v xdg-open >/dev/null 2>&1 && lf_run=xdg-open',
    '    [ -n "$lf_slots" ] && lf_run=${lf_run:+$lf_run,}$lf_dir/deno',
    `    set -- ${
      words(flags.server)
    } \${lf_run:+"--allow-run=$lf_run"} "$lf_dir/${spec.app}" "$@" ;;`,
    `  pcache) set -- ${words(flags.promptCache)} "$lf_dir/${spec.app}" "$@" ;;`,
    `  *) set -- ${words(flags.cli)} "$lf_dir/${spec.app}" "$@" ;;`,
    "esac",
    `if [ -n "\${${LAUNCHER_DRY_RUN_ENV}-}" ]; then`,
    `  printf '%s\\n' ${emulator} "$lf_dir/deno" run --no-config --cached-only "$@"`,
    "  exit 0",
    "fi",
    `exec ${emulator} "$lf_dir/deno" run --no-config --cached-only "$@"`,
    'lf_fail "Cannot start \\"$lf_dir/deno\\""',
    "exit 1",
    // The group's end: the launcher's last two bytes, after the padding (launcherBytes()).
    "}",
    "",
  ];
  return lines.join("\n");
}

/**
 * An upper bound of the launcher's size for `spec` whatever its numbers (offsets, sizes,
 * CRCs), rounded up to {@linkcode LAUNCHER_BLOCK}: the size to reserve before the layout.
 */
export function launcherSizeBound(spec: LauncherSpec): number {
  const big = Number.MAX_SAFE_INTEGER;
  const widest = launcherScript({
    ...spec,
    runtimes: spec.runtimes.map((runtime) => ({
      ...runtime,
      entries: runtime.entries.map((e) => ({
        ...e,
        dataOffset: big - 1,
        compressedSize: big,
        size: big,
        crc32: 0xffffffff,
      })),
    })),
  }, big);
  const length = new TextEncoder().encode(widest).length;
  return Math.ceil((length + 1) / LAUNCHER_BLOCK) * LAUNCHER_BLOCK;
}

/**
 * The launcher for `spec` as bytes, padded with newlines to exactly `size` bytes: the padding
 * goes inside the script's brace group, whose closing `}` and newline are the last two bytes.
 *
 * @throws {RangeError} When the script is longer than `size`.
 */
export function launcherBytes(spec: LauncherSpec, size: number): Uint8Array {
  const text = new TextEncoder().encode(launcherScript(spec, size));
  if (text.length > size) {
    throw new RangeError(`Cannot fit the launcher in ${size} bytes: it takes ${text.length}`);
  }
  const out = new Uint8Array(size).fill(0x0a);
  out.set(text.subarray(0, text.length - 2));
  out.set(text.subarray(text.length - 2), size - 2);
  return out;
}
