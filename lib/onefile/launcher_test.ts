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

function spec(overrides: Partial<LauncherSpec> = {}): LauncherSpec {
  return {
    version: "llamafile.ts test",
    platform: "linux-x64",
    hash: "0123456789abcdef",
    entries: [
      {
        name: "runtime/linux-x64/deno",
        path: "deno",
        mode: 0o755,
        method: 8,
        dataOffset: 8192,
        compressedSize: 100,
        size: 300,
        crc32: 0xdeadbeef,
        sha256: "a".repeat(64),
      },
      {
        name: "runtime/linux-x64/lib/libllama.v0.5.0.so",
        path: "lib/libllama.v0.5.0.so",
        mode: 0o755,
        method: 0,
        dataOffset: 9000,
        compressedSize: 50,
        size: 50,
        crc32: 1,
        sha256: "b".repeat(64),
      },
    ],
    app: "app.js",
    libDir: "lib",
    args: ["-n", "40", "it's", "...", "--port", "9"],
    argv: launcherArgv(),
    ...overrides,
  };
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
  const text = launcherScript(spec());
  assert.ok(text.startsWith("#!/bin/sh\n"));
  assert.match(text, /lf_hash=0123456789abcdef\n/);
  // tail -c +N counts from 1.
  assert.match(
    text,
    /lf_put deno 755 8 8193 100 '\\357\\276\\255\\336\\054\\001\\000\\000' a{64} /,
  );
  assert.match(text, /lf_put lib\/libllama\.v0\.5\.0\.so 755 0 9001 50 /);
  assert.match(text, /lf_scan -n 40 'it'\\''s'; lf_scan "\$@"; lf_scan --port 9 ;;/);
  assert.match(text, /mkdir -- "\$lf_tmp" "\$lf_tmp\/lib"/);
  assert.match(text, /exec "\$lf_dir\/deno" run --no-config --cached-only "\$@"/);
});

Deno.test("launcherScript() takes its flag sets from permissions.ts, the address and file filled in by sh", () => {
  const text = launcherScript(spec());
  const line = (flags: string[], word: string, shell: string) =>
    flags.map((f) => (f === word ? shell : shellQuote(f))).join(" ") + ' "$lf_dir/app.js" "$@" ;;';
  assert.ok(text.includes(`  *) set -- ${line(cliPermissionFlags(), "", "")}`));
  const server = serverPermissionFlags({ host: "h", port: 1 });
  assert.ok(server.includes("--allow-net=h:1"));
  const serverLine = (flags: string[]) =>
    `      set -- ${line(flags, "--allow-net=h:1", '"--allow-net=$lf_net"').slice(0, -3)}\n`;
  assert.ok(text.includes(serverLine(server)));
  const browser = serverPermissionFlags({ host: "h", port: 1, browser: true });
  assert.ok(browser.includes("--allow-run=xdg-open") && !server.includes("--allow-run=xdg-open"));
  assert.ok(text.includes(serverLine(browser)));
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
  const text = launcherScript(spec());
  const names = launcherArgv().valueOptions;
  assert.ok(names.includes("-p") && names.includes("--model") && !names.includes("--server"));
  const line = text.split("\n").find((l) => l.includes("lf_skip=value ;;"))!;
  for (const name of names.filter((n) => !["--host", "--port", "--prompt-cache"].includes(n))) {
    assert.ok(line.includes(name), name);
  }
});

Deno.test("launcherScript() is deterministic and refuses unsafe paths, hashes and platforms", () => {
  assert.equal(launcherScript(spec()), launcherScript(spec()));
  assert.throws(() => launcherScript(spec({ platform: "plan9-x64" })), RangeError);
  assert.throws(() => launcherScript(spec({ hash: "ABC; rm -rf /" })), RangeError);
  assert.throws(() => launcherScript(spec({ app: "../app.js" })), RangeError);
  const [deno] = spec().entries;
  assert.throws(() => launcherScript(spec({ entries: [{ ...deno!, path: "a b" }] })), RangeError);
  assert.throws(() => launcherScript(spec({ entries: [{ ...deno!, method: 12 }] })), RangeError);
});

Deno.test("launcherSizeBound() holds the script whatever its numbers, in 4 KiB blocks", () => {
  const bound = launcherSizeBound(spec());
  assert.equal(bound % 4096, 0);
  const huge = spec({
    entries: spec().entries.map((e) => ({
      ...e,
      dataOffset: 2 ** 52,
      compressedSize: 2 ** 52,
      size: 2 ** 52,
      crc32: 0xffffffff,
    })),
  });
  const bytes = launcherBytes(huge, bound);
  assert.equal(bytes.length, bound);
  assert.ok(!bytes.includes(0), "no NUL byte in the launcher");
  assert.equal(bytes.at(-1), 0x0a);
  assert.throws(() => launcherBytes(spec(), 100), RangeError);
});
