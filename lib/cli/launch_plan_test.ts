import assert from "node:assert/strict";
import { cliPermissionFlags, UNSECURE_PERMISSION_FLAGS } from "../sandbox/permissions.ts";
import { planLaunch } from "./launch_plan.ts";

Deno.test("planLaunch() gives the CLI no network, no write and no run", () => {
  const plan = planLaunch(["-m", "x.gguf", "-p", "hi"]);
  assert.equal(plan.mode, "cli");
  assert.ok(plan.flags.includes("--no-prompt"));
  assert.ok(plan.flags.includes("--allow-ffi"));
  assert.ok(
    !plan.flags.some((f) =>
      f.startsWith("--allow-net") || f.startsWith("--allow-write") || f.startsWith("--allow-run")
    ),
  );
});

Deno.test("planLaunch() gives the server its listen address only", () => {
  const plan = planLaunch(["--server", "--host", "0.0.0.0", "--port=9000"]);
  assert.equal(plan.mode, "server");
  assert.ok(plan.flags.includes("--allow-net=0.0.0.0:9000"));
  assert.deepEqual(planLaunch(["--server"]).flags.filter((f) => f.startsWith("--allow-net")), [
    "--allow-net=127.0.0.1:8080",
  ]);
});

Deno.test("planLaunch() lets the CLI write only the prompt cache file", () => {
  const plan = planLaunch(["-p", "x", "--prompt-cache", "cache.bin"]);
  assert.ok(plan.flags.includes("--allow-write=cache.bin"));
});

Deno.test("planLaunch() turns everything on with --unsecure", () => {
  assert.deepEqual(planLaunch(["--unsecure", "-p", "x"]).flags, ["--no-prompt", "--allow-all"]);
});

Deno.test("planLaunch() recognizes the pack and info subcommands", () => {
  assert.equal(planLaunch(["pack", "-m", "x"]).mode, "pack");
  assert.equal(planLaunch(["info", "x.gguf"]).mode, "info");
});

Deno.test("planLaunch() gives rpc-server the CLI's flags: its socket is native, seccomp guards it", () => {
  const plan = planLaunch(["rpc-server", "-H", "0.0.0.0", "-p", "50052"]);
  assert.equal(plan.mode, "rpc-server");
  assert.deepEqual(plan.flags, cliPermissionFlags());
  assert.ok(!plan.flags.some((f) => f.startsWith("--allow-net")));
  assert.deepEqual(planLaunch(["rpc-server", "--unsecure"]).flags, [...UNSECURE_PERMISSION_FLAGS]);
  assert.deepEqual(planLaunch(["rpc-server", "--bogus"]).flags, cliPermissionFlags());
});

Deno.test("planLaunch() keeps the CLI without network with --rpc: the connection is native, made before the sandbox", () => {
  const plan = planLaunch(["-m", "x.gguf", "-p", "hi", "--rpc", "10.0.0.2:50052"]);
  assert.equal(plan.mode, "cli");
  assert.deepEqual(plan.flags, cliPermissionFlags());
});

Deno.test("planLaunch() says when a run loads libmtmd: the server or images with --mmproj, pack --mmproj", () => {
  const needs = (args: string[]) => planLaunch(args).needsMtmd ?? false;
  assert.equal(needs(["-m", "m.gguf", "--mmproj", "p.gguf", "--image", "a.png", "-p", "x"]), true);
  assert.equal(needs(["-m", "m.gguf", "--mmproj", "p.gguf", "--server"]), true);
  assert.equal(needs(["pack", "-m", "m.gguf", "--mmproj", "p.gguf", "-o", "x.llamafile"]), true);
  // A projector named but no image (a llamafile packed with one, answering text): no libmtmd.
  assert.equal(needs(["-m", "m.gguf", "--mmproj", "p.gguf", "-p", "x"]), false);
  assert.equal(needs(["-m", "m.gguf", "--image", "a.png", "-p", "x"]), false);
  assert.equal(needs(["pack", "-m", "m.gguf", "-o", "x.llamafile"]), false);
  assert.equal(needs(["pack", "--bogus"]), false);
});
