import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  _kernelLayerUnsupported,
  formatSandboxReport,
  type SandboxReport,
} from "./apply_sandbox.ts";
import { seccompPolicy } from "./seccomp_filter.ts";

Deno.test("_kernelLayerUnsupported() names why seccomp cannot apply", () => {
  strictEqual(_kernelLayerUnsupported("linux", "x86_64"), null);
  strictEqual(_kernelLayerUnsupported("linux", "aarch64"), null);
  strictEqual(
    _kernelLayerUnsupported("darwin", "aarch64"),
    `seccomp is Linux-only, this is "darwin"`,
  );
  strictEqual(
    _kernelLayerUnsupported("linux", "riscv64"),
    `no syscall table for architecture "riscv64"`,
  );
  strictEqual(
    _kernelLayerUnsupported("linux", "toString"),
    `no syscall table for architecture "toString"`,
  );
});

Deno.test("formatSandboxReport() summarizes both layers", () => {
  const policy = seccompPolicy("server");
  const report: SandboxReport = {
    stage: "server",
    keptConnections: [],
    unsecure: false,
    deno: { granted: ["ffi"], revoked: ["read", "write", "env", "run", "net", "sys"] },
    kernel: { active: true, arch: "aarch64", denied: [...policy.deny], open: policy.open },
  };
  deepStrictEqual(formatSandboxReport(report), [
    "sandbox: deno permissions (server): granted ffi in full; revoked read, write, env, run, net, sys",
    "sandbox: seccomp (aarch64, all threads): EPERM for socket, connect, bind, listen; exec; opening files; " +
    "changing files; other processes' memory; 31 kernel interfaces (io_uring, bpf, mount, modules, ...)",
  ]);
  const off = {
    ...report,
    kernel: { ...report.kernel, active: false, reason: "seccomp is Linux-only" },
  };
  strictEqual(formatSandboxReport(off)[1], "sandbox: seccomp off (seccomp is Linux-only)");
  deepStrictEqual(formatSandboxReport({ ...report, unsecure: true }), [
    "sandbox: off (--unsecure)",
  ]);
});

Deno.test("formatSandboxReport() states the connections kept through the sandbox (--rpc)", () => {
  const policy = seccompPolicy("cli");
  const report: SandboxReport = {
    stage: "cli",
    keptConnections: ["127.0.0.1:50052 (--rpc)"],
    unsecure: false,
    deno: { granted: ["read", "ffi"], revoked: ["write", "env", "run", "net", "sys"] },
    kernel: { active: true, arch: "x86_64", denied: [...policy.deny], open: policy.open },
  };
  const lines = formatSandboxReport(report);
  strictEqual(
    lines.at(-1),
    "sandbox: exception: the connection made before it to 127.0.0.1:50052 (--rpc) stays open; " +
      "no new socket can be made",
  );
  strictEqual(lines.length, 3);
  const two = { ...report, keptConnections: ["10.0.0.2:50052 (--rpc)", "10.0.0.3:50052 (--rpc)"] };
  strictEqual(
    formatSandboxReport(two).at(-1),
    "sandbox: exception: the connections made before it to 10.0.0.2:50052 (--rpc), " +
      "10.0.0.3:50052 (--rpc) stay open; no new socket can be made",
  );
  strictEqual(formatSandboxReport({ ...report, keptConnections: [] }).length, 2);
});
