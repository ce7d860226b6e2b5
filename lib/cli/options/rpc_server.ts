/**
 * `llamafile rpc-server` options: llama.cpp's `rpc-server` flags (`-H`, `-p`, `-t`) and ours.
 *
 * @module
 */
import { type OptionTable, UsageError } from "../option_table.ts";

/** llama.cpp's `rpc-server` defaults. */
export const RPC_SERVER_DEFAULTS = { host: "127.0.0.1", port: 50052 } as const;

/** What `llamafile rpc-server` reads from its arguments. */
export interface RpcServerArgs {
  host: string;
  /** TCP port; 0 lets the kernel pick one (printed once listening). */
  port: number;
  threads?: number;
  unsecure: boolean;
  verbose: boolean;
  help: boolean;
}

/**
 * Checks the listen address: ggml's RPC server binds an IPv4 address in dotted form
 * (`inet_addr`), not a host name, not IPv6.
 *
 * @throws {UsageError} On anything else.
 */
export function parseIpv4(raw: string, name: string): string {
  const parts = raw.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new UsageError(
      `Invalid value "${raw}" for ${name}: expected an IPv4 address such as 127.0.0.1 or 0.0.0.0`,
    );
  }
  return raw;
}

/** The `rpc-server` table. */
export const RPC_SERVER_TABLE: OptionTable<RpcServerArgs> = {
  command: "rpc-server",
  sections: [{
    title: "One model on several machines: llamafile rpc-server",
    defaults: { ...RPC_SERVER_DEFAULTS, unsecure: false, verbose: false, help: false },
    specs: [
      {
        names: ["-H", "--host"],
        key: "host",
        kind: "string",
        arg: "IPV4",
        parse: parseIpv4,
        help:
          "address to listen on; anything but 127.0.0.1 is open to the network, unauthenticated",
      },
      {
        names: ["-p", "--port"],
        key: "port",
        kind: "int",
        arg: "PORT",
        min: 0,
        max: 65535,
        help: "port to listen on, 0 = any free one (printed)",
      },
      {
        names: ["-t", "--threads"],
        key: "threads",
        kind: "int",
        arg: "N",
        min: 1,
        help: "threads of the CPU device it serves",
        defaultText: "physical cores not kept busy by other processes",
      },
      {
        names: ["--unsecure"],
        key: "unsecure",
        kind: "flag",
        help: "turn off the sandbox (Deno permission lockdown and seccomp)",
      },
      {
        names: ["--verbose", "-v"],
        key: "verbose",
        kind: "flag",
        help: "show ggml's log and what the sandbox forbids",
      },
      { names: ["-h", "--help"], key: "help", kind: "flag", help: "show this help" },
    ],
  }],
};
