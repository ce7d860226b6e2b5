import { deepStrictEqual, throws } from "node:assert/strict";
import { cliPermissionFlags, ENV_ALLOWLIST, serverPermissionFlags } from "./permissions.ts";

const ENV = `--allow-env=${ENV_ALLOWLIST.join(",")}`;

Deno.test("cliPermissionFlags() grants no network, run or write", () => {
  deepStrictEqual(cliPermissionFlags(), ["--no-prompt", "--allow-read", "--allow-ffi", ENV]);
});

Deno.test("cliPermissionFlags() grants writing the prompt-cache file only", () => {
  deepStrictEqual(cliPermissionFlags({ promptCache: "/tmp/cache.bin" }), [
    "--no-prompt",
    "--allow-read",
    "--allow-ffi",
    ENV,
    "--allow-write=/tmp/cache.bin",
  ]);
});

Deno.test("cliPermissionFlags() rejects a path a permission list cannot hold", () => {
  throws(() => cliPermissionFlags({ promptCache: "/tmp/a,b" }), RangeError);
  throws(() => cliPermissionFlags({ promptCache: "" }), RangeError);
});

Deno.test("serverPermissionFlags() grants the listen address only", () => {
  deepStrictEqual(serverPermissionFlags({ host: "127.0.0.1", port: 8080, browser: true }), [
    "--no-prompt",
    "--allow-read",
    "--allow-ffi",
    `${ENV},DISPLAY,WAYLAND_DISPLAY`,
    "--unstable-no-legacy-abort",
    "--allow-net=127.0.0.1:8080",
    "--allow-run=xdg-open",
  ]);
  deepStrictEqual(
    serverPermissionFlags({ host: "127.0.0.1", port: 8080 }).filter((f) =>
      f.startsWith("--allow-run")
    ),
    [],
    "no --allow-run unless a browser is to be opened",
  );
  deepStrictEqual(serverPermissionFlags({ host: "::1", port: 0 }).at(-1), "--allow-net=[::1]:0");
  deepStrictEqual(serverPermissionFlags({ host: "[::]", port: 80 }).at(-1), "--allow-net=[::]:80");
  deepStrictEqual(
    serverPermissionFlags({ host: "localhost", port: 1 }).at(-1),
    "--allow-net=localhost:1",
  );
});

Deno.test("serverPermissionFlags() rejects a bad port or host", () => {
  throws(() => serverPermissionFlags({ host: "127.0.0.1", port: 65536 }), RangeError);
  throws(() => serverPermissionFlags({ host: "127.0.0.1", port: 1.5 }), RangeError);
  throws(() => serverPermissionFlags({ host: "", port: 80 }), RangeError);
});

Deno.test("serverPermissionFlags() grants each address of a --host list, and runs the slot file helper", () => {
  const flags = serverPermissionFlags({ host: "127.0.0.1,::1", port: 8080 });
  deepStrictEqual(flags.at(-1), "--allow-net=127.0.0.1:8080,[::1]:8080");
  const helper = serverPermissionFlags({ host: "127.0.0.1", port: 1, slotFileHelper: "/bin/deno" });
  deepStrictEqual(helper.filter((f) => f.startsWith("--allow-run")), ["--allow-run=/bin/deno"]);
  const both = serverPermissionFlags({
    host: "127.0.0.1",
    port: 1,
    browser: true,
    slotFileHelper: "/bin/deno",
  });
  deepStrictEqual(both.filter((f) => f.startsWith("--allow-run")), [
    "--allow-run=xdg-open,/bin/deno",
  ]);
});
