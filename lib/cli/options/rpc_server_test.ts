import assert from "node:assert/strict";
import { parseArgs, UsageError } from "../option_table.ts";
import { RPC_SERVER_DEFAULTS, RPC_SERVER_TABLE } from "./rpc_server.ts";

Deno.test("RPC_SERVER_TABLE keeps llama.cpp's rpc-server flags and defaults", () => {
  const defaults = parseArgs(RPC_SERVER_TABLE, []);
  assert.equal(defaults.host, RPC_SERVER_DEFAULTS.host);
  assert.equal(defaults.port, 50052);
  assert.equal(defaults.threads, undefined);
  const args = parseArgs(RPC_SERVER_TABLE, ["-H", "0.0.0.0", "-p", "0", "-t", "2", "--unsecure"]);
  assert.deepEqual(
    { host: args.host, port: args.port, threads: args.threads, unsecure: args.unsecure },
    { host: "0.0.0.0", port: 0, threads: 2, unsecure: true },
  );
  assert.equal(parseArgs(RPC_SERVER_TABLE, ["--host=10.1.2.3", "--port=8"]).host, "10.1.2.3");
});

Deno.test("RPC_SERVER_TABLE refuses what ggml's server cannot bind: names, IPv6, bad ports", () => {
  for (
    const argv of [
      ["-H", "localhost"],
      ["-H", "::1"],
      ["-H", "1.2.3"],
      ["-H", "1.2.3.256"],
      ["-p", "65536"],
      ["-p", "-1"],
      ["-t", "0"],
      ["--rpc", "x:1"],
      ["stray"],
    ]
  ) {
    assert.throws(() => parseArgs(RPC_SERVER_TABLE, argv), UsageError, argv.join(" "));
  }
});
