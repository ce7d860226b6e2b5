import assert from "node:assert/strict";
import {
  gzipTrailerEscapes,
  launcherBytes,
  launcherScript,
  launcherSizeBound,
  type LauncherSpec,
  shellQuote,
} from "./launcher.ts";
import { launcherArgv } from "../cli/pack_command.ts";
import {
  cliPermissionFlags,
  serverPermissionFlags,
  UNSECURE_PERMISSION_FLAGS,
} from "../sandbox/permissions.ts";

const DENO = {
  name: "runtime/linux-x64/deno",
  path: "deno",
  mode: 0o755,
  method: 8,
  dataOffset: 8192,
  compressedSize: 100,
  size: 300,
  crc32: 0xdeadbeef,
  sha256: "a".repeat(64),
};
const LIBLLAMA = {
  name: "runtime/linux-x64/lib/libllama.v0.5.0.so",
  path: "lib/libllama.v0.5.0.so",
  mode: 0o755,
  method: 0,
  dataOffset: 9000,
  compressedSize: 50,
  size: 50,
  crc32: 1,
  sha256: "b".repeat(64),
};

function spec(overrides: Partial<LauncherSpec> = {}): LauncherSpec {
  return {
    version: "llamafile.ts test",
    runtimes: [{ platform: "linux-x64", hash: "0123456789abcdef", entries: [DENO, LIBLLAMA] }],
    app: "app.js",
    libDir: "lib",
    args: ["-n", "40", "it's", "...", "--port", "9"],
    argv: launcherArgv(),
    ...overrides,
  };
}

/** Two runtimes, the second at other offsets. */
function twoPlatforms(): LauncherSpec {
  return spec({
    runtimes: [
      ...spec().runtimes,
      {
        platform: "linux-arm64",
        hash: "fedcba9876543210",
        entries: [
          { ...DENO, name: "runtime/linux-arm64/deno", dataOffset: 20000, sha256: "c".repeat(64) },
        ],
      },
    ],
  });
}

Deno.test("shellQuote() leaves plain words and quotes the rest for sh", () => {
  assert.equal(shellQuote("--allow-env=A,B"), "--allow-env=A,B");
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote(""), "''");
  assert.equal(shellQuote("LLAMAFILE_*"), "'LLAMAFILE_*'");
  assert.throws(() => shellQuote("a\0b"), TypeError);
});

Deno.test("gzipTrailerEscapes() writes the CRC-32 and size little-endian as octal escapes", () => {
  assert.equal(
    gzipTrailerEscapes(0x04030201, 0x08070605),
    "\\001\\002\\003\\004\\005\\006\\007\\010",
  );
  // Sizes of 4 GiB and more wrap like gzip's ISIZE.
  assert.equal(gzipTrailerEscapes(0, 2 ** 32 + 255), "\\000\\000\\000\\000\\377\\000\\000\\000");
});

Deno.test("launcherScript() writes offsets, sizes, hashes and the mode scan of .args", () => {
  const text = launcherScript(spec(), 8192);
  assert.ok(text.startsWith("#!/bin/sh\n"));
  assert.ok(text.includes("  linux-x64) lf_hash=0123456789abcdef ;;\n"));
  // tail -c +N counts from 1.
  assert.match(
    text,
    /lf_put deno 755 8 8193 100 '\\357\\276\\255\\336\\054\\001\\000\\000' a{64} /,
  );
  assert.match(text, /lf_put lib\/libllama\.v0\.5\.0\.so 755 0 9001 50 /);
  assert.match(text, /lf_scan -n 40 'it'\\''s'; lf_scan "\$@"; lf_scan --port 9 ;;/);
  assert.match(
    text,
    /mkdir "\$lf_tmp\/lib" "\$lf_tmp\/deno_dir" "\$lf_tmp\/deno_dir\/dep_analysis_cache_v2" .* 2>\/dev\/null \|\| return 1/,
  );
  assert.match(
    text,
    /exec \$\{LLAMAFILE_EMULATOR:\+"\$LLAMAFILE_EMULATOR"\} "\$lf_dir\/deno" run --no-config --cached-only "\$@"/,
  );
  // First the truncation trap, then one brace group that ends with the launcher's last bytes.
  const lines = text.split("\n");
  assert.equal(
    lines[1],
    `{ exec 9>&2 2>/dev/null; trap 'printf "llamafile: Cannot run \\"%s\\": the file is truncated (shorter than its 8192-byte launcher)\\n" "$0" >&9; exit 1' EXIT; [ -n "\${ZSH_VERSION-}" ] && emulate sh; }`,
  );
  assert.equal(lines[2], "{ trap - EXIT; exec 2>&9 9>&-");
  assert.ok(text.endsWith("\nexit 1\n}\n"));
  assert.doesNotMatch(text, /\$\(ls |pwd -P/, "no process to find its size or its folder");
});

Deno.test("launcherScript() takes its flag sets from permissions.ts, the address and file filled in by sh", () => {
  const text = launcherScript(spec(), 8192);
  const line = (flags: string[], word: string, shell: string) =>
    flags.map((f) => (f === word ? shell : shellQuote(f))).join(" ") + ' "$lf_dir/app.js" "$@" ;;';
  assert.ok(text.includes(`  *) set -- ${line(cliPermissionFlags(), "", "")}`));
  const server = serverPermissionFlags({ host: "h", port: 1 });
  assert.ok(server.includes("--allow-net=h:1"));
  // The server's flags, and the programs it may run (xdg-open, the slot file helper) added by sh.
  const serverLine = `    set -- ${
    line(server, "--allow-net=h:1", '"--allow-net=$lf_net"').replace(
      ' "$lf_dir/app.js"',
      ' ${lf_run:+"--allow-run=$lf_run"} "$lf_dir/app.js"',
    )
  }\n`;
  assert.ok(text.includes(serverLine));
  const browser = serverPermissionFlags({ host: "h", port: 1, browser: true });
  assert.ok(
    browser.includes("--allow-run=xdg-open") && !server.some((f) => f.startsWith("--allow-run")),
  );
  assert.match(text, /lf_run=xdg-open/);
  assert.match(text, /lf_run=\$\{lf_run:\+\$lf_run,\}\$lf_dir\/deno/);
  const cache = cliPermissionFlags({ promptCache: "f" });
  assert.ok(
    text.includes(
      `  pcache) set -- ${line(cache, "--allow-write=f", '"--allow-write=$lf_pcache"')}`,
    ),
  );
  assert.ok(text.includes(`  unsecure) set -- ${line([...UNSECURE_PERMISSION_FLAGS], "", "")}`));
  assert.match(text, /DENO_NO_UPDATE_CHECK=1/);
});

Deno.test("launcherScript() skips the values of every option that takes one", () => {
  const text = launcherScript(spec(), 8192);
  const names = launcherArgv().valueOptions;
  assert.ok(names.includes("-p") && names.includes("--model") && !names.includes("--server"));
  const line = text.split("\n").find((l) => l.includes("lf_skip=value ;;"))!;
  const scanned = ["--host", "--port", "--prompt-cache", "--slot-save-path"];
  for (const name of names.filter((n) => !scanned.includes(n))) {
    assert.ok(line.includes(name), name);
  }
});

Deno.test("launcherScript() is deterministic and refuses unsafe paths, hashes and platforms", () => {
  assert.equal(launcherScript(spec(), 8192), launcherScript(spec(), 8192));
  const runtime = spec().runtimes[0]!;
  const bad = (overrides: Partial<LauncherSpec>) => () => launcherScript(spec(overrides), 8192);
  assert.throws(bad({ runtimes: [] }), RangeError);
  assert.throws(bad({ runtimes: [{ ...runtime, platform: "plan9-x64" }] }), RangeError);
  assert.throws(bad({ runtimes: [runtime, runtime] }), RangeError);
  assert.throws(bad({ runtimes: [{ ...runtime, hash: "ABC; rm -rf /" }] }), RangeError);
  assert.throws(bad({ app: "../app.js" }), RangeError);
  assert.throws(
    bad({ runtimes: [{ ...runtime, entries: [{ ...DENO, path: "a b" }] }] }),
    RangeError,
  );
  assert.throws(
    bad({ runtimes: [{ ...runtime, entries: [{ ...DENO, method: 12 }] }] }),
    RangeError,
  );
  assert.throws(() => launcherScript(spec(), 0), RangeError);
});

Deno.test("launcherScript() picks a runtime by uname or LLAMAFILE_PLATFORM and names what it holds", () => {
  const text = launcherScript(twoPlatforms(), 8192);
  assert.match(text, /lf_platform=\$\{LLAMAFILE_PLATFORM-\}\n/);
  assert.match(text, /lf_uname=\$\(uname -sm 2>\/dev\/null\)/);
  // Every platform we know is named by uname, held or not.
  assert.ok(text.includes("    'Linux x86_64') lf_platform=linux-x64 ;;"));
  assert.ok(text.includes("    'Linux aarch64' | 'Linux arm64') lf_platform=linux-arm64 ;;"));
  assert.ok(text.includes("  linux-arm64) lf_hash=fedcba9876543210 ;;"));
  assert.match(
    text,
    /lf_fail "Cannot run on \$lf_why: this llamafile holds runtimes for linux-x64, linux-arm64 only"/,
  );
  // Each runtime extracts its own entries, after one line saying so.
  assert.match(
    text,
    / {4}linux-arm64\)\n {6}mkdir [^\n]*\n {6}printf 'llamafile: first run: extracting the linux-arm64 runtime \([\d.]+ [KMG]?B: deno, the app, libllama\) into %s\\n' "\$lf_parent\/\$lf_hash" >&2\n {6}lf_put deno 755 8 20001 100 /,
  );
  const one = launcherScript(spec(), 8192);
  assert.match(one, /this llamafile holds a runtime for linux-x64 only/);
  assert.ok(!one.includes("linux-arm64) lf_hash="));
});

Deno.test("launcherSizeBound() holds the script whatever its numbers, in 4 KiB blocks", () => {
  const bound = launcherSizeBound(spec());
  assert.equal(bound % 4096, 0);
  const huge = spec({
    runtimes: spec().runtimes.map((r) => ({
      ...r,
      entries: r.entries.map((e) => ({
        ...e,
        dataOffset: 2 ** 52,
        compressedSize: 2 ** 52,
        size: 2 ** 52,
        crc32: 0xffffffff,
      })),
    })),
  });
  const bytes = launcherBytes(huge, bound);
  assert.equal(bytes.length, bound);
  assert.ok(!bytes.includes(0), "no NUL byte in the launcher");
  assert.equal(bytes.at(-1), 0x0a);
  assert.throws(() => launcherBytes(spec(), 100), RangeError);
});
