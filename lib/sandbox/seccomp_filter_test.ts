import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { encodeBpf } from "../../ffi/seccomp.ts";
import {
  AUDIT_ARCH,
  buildSeccompFilter,
  ERRNO,
  SECCOMP_RET,
  type SeccompArch,
  seccompInstructions,
  type SeccompPolicy,
  seccompPolicy,
  type SyscallName,
  syscallNumber,
} from "./seccomp_filter.ts";

const EPERM = SECCOMP_RET.errno | ERRNO.EPERM;
const ENOSYS = SECCOMP_RET.errno | ERRNO.ENOSYS;
const ALLOW = SECCOMP_RET.allow;
const KILL = SECCOMP_RET.killProcess;
const AUDIT_ARCH_I386 = 0x40000003;
const SECCOMP_DATA_SIZE = 64;

/** Checks what the kernel's `seccomp_check_filter` checks, for the opcodes we emit. */
function verify(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = bytes.byteLength / 8;
  ok(count >= 1 && count <= 4096, `length ${count}`);
  for (let pc = 0; pc < count; pc++) {
    const code = view.getUint16(pc * 8, true);
    const jt = view.getUint8(pc * 8 + 2),
      jf = view.getUint8(pc * 8 + 3),
      k = view.getUint32(pc * 8 + 4, true);
    if (code === 0x20) ok(k % 4 === 0 && k < SECCOMP_DATA_SIZE, `load offset ${k} at ${pc}`);
    else if (code === 0x15 || code === 0x35 || code === 0x45) {
      ok(pc + 1 + Math.max(jt, jf) < count, `jump past the end at ${pc}`);
    } else strictEqual(code, 0x06, `opcode ${code} at ${pc}`);
  }
  strictEqual(view.getUint16((count - 1) * 8, true), 0x06, "the last instruction returns");
}

/** A classic-BPF interpreter for the opcodes seccomp filters use here: runs `bytes` on `seccomp_data`. */
function runBpf(
  bytes: Uint8Array,
  data: { nr: number; arch: number; args?: readonly bigint[] },
): number {
  verify(bytes);
  const program = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const input = new DataView(new ArrayBuffer(SECCOMP_DATA_SIZE));
  input.setInt32(0, data.nr, true);
  input.setUint32(4, data.arch, true);
  (data.args ?? []).forEach((arg, i) => input.setBigUint64(16 + 8 * i, arg, true));
  let a = 0;
  let pc = 0;
  for (;;) {
    const code = program.getUint16(pc * 8, true);
    const jt = program.getUint8(pc * 8 + 2), jf = program.getUint8(pc * 8 + 3);
    const k = program.getUint32(pc * 8 + 4, true);
    switch (code) {
      case 0x20:
        a = input.getUint32(k, true);
        pc += 1;
        break;
      case 0x15:
        pc += 1 + (a === k ? jt : jf);
        break;
      case 0x35:
        pc += 1 + (a >= k ? jt : jf);
        break;
      case 0x45:
        pc += 1 + ((a & k) >>> 0 !== 0 ? jt : jf);
        break;
      case 0x06:
        return k;
      default:
        throw new Error(`opcode ${code}`);
    }
  }
}

function nr(arch: SeccompArch, name: SyscallName): number {
  const number = syscallNumber(arch, name);
  if (number === null) throw new Error(`${name} has no number on ${arch}`);
  return number;
}

function filterFor(arch: SeccompArch, policy: SeccompPolicy) {
  const bytes = buildSeccompFilter(arch, policy);
  return (call: number | SyscallName, args: readonly bigint[] = [], auditArch = AUDIT_ARCH[arch]) =>
    runBpf(bytes, { nr: typeof call === "number" ? call : nr(arch, call), arch: auditArch, args });
}

const O_RDONLY = 0n, O_WRONLY = 1n, O_RDWR = 2n, O_CREAT = 0x40n, O_TRUNC = 0x200n;
const O_CLOEXEC = 0x80000n, O_APPEND = 0x400n, O_DIRECTORY = 0x10000n, O_PATH = 0x200000n;
const AT_FDCWD = BigInt.asUintN(64, -100n);
const PATH = 0x7fff0000n;

Deno.test("seccompInstructions() checks the arch word before anything else", () => {
  for (const arch of ["x86_64", "aarch64"] as const) {
    const program = seccompInstructions(arch, seccompPolicy("cli"));
    deepStrictEqual(program.slice(0, 3), [
      { code: 0x20, jt: 0, jf: 0, k: 4 },
      { code: 0x15, jt: 1, jf: 0, k: AUDIT_ARCH[arch] },
      { code: 0x06, jt: 0, jf: 0, k: KILL },
    ]);
    deepStrictEqual(program.at(-1), { code: 0x06, jt: 0, jf: 0, k: ALLOW });
  }
});

Deno.test("buildSeccompFilter() kills a syscall made with another arch word", () => {
  const x86 = filterFor("x86_64", seccompPolicy("cli"));
  strictEqual(x86(0, [], AUDIT_ARCH_I386), KILL); // i386 `restart_syscall` through int 0x80
  strictEqual(x86(3, [], AUDIT_ARCH_I386), KILL); // i386 read, x86-64 close
  strictEqual(x86(63, [], AUDIT_ARCH.aarch64), KILL);
  const arm = filterFor("aarch64", seccompPolicy("server"));
  strictEqual(arm(63, [], AUDIT_ARCH.x86_64), KILL);
  strictEqual(arm(63), ALLOW);
});

Deno.test("buildSeccompFilter() kills x32 syscalls on x86-64 but lets -1 through", () => {
  const x86 = filterFor("x86_64", seccompPolicy("cli"));
  strictEqual(x86(0x40000000 | 41), KILL); // x32 socket
  strictEqual(x86(0x40000000), KILL);
  strictEqual(x86(-1), ALLOW); // the kernel answers ENOSYS itself
  strictEqual(x86(0x3fffffff), ALLOW);
});

Deno.test("buildSeccompFilter() answers every denied syscall with EPERM on both arches", () => {
  for (const stage of ["cli", "server-start", "server", "rpc-server"] as const) {
    const policy = seccompPolicy(stage);
    for (const arch of ["x86_64", "aarch64"] as const) {
      const filter = filterFor(arch, policy);
      for (const name of policy.deny) {
        if (syscallNumber(arch, name) === null) continue;
        strictEqual(filter(name), EPERM, `${stage} ${arch} ${name}`);
      }
    }
  }
});

Deno.test("buildSeccompFilter() allows what Deno, V8 and ggml use", () => {
  // x86-64: read, write, close, mmap, mprotect, futex, clone, clone3, epoll_wait, eventfd2,
  // socketpair, sched_yield, getrandom, io_uring-free tokio: all arg-independent ALLOW.
  for (
    const policy of [
      seccompPolicy("cli"),
      seccompPolicy("server-start"),
      seccompPolicy("server"),
      seccompPolicy("rpc-server"),
    ]
  ) {
    const x86 = filterFor("x86_64", policy);
    for (const number of [0, 1, 3, 9, 10, 202, 56, 435, 232, 290, 53, 24, 318]) {
      strictEqual(x86(number), ALLOW, `x86_64 syscall ${number}`);
    }
    const arm = filterFor("aarch64", policy);
    for (const number of [63, 64, 57, 222, 226, 98, 220, 435, 22, 19, 199, 124, 278]) {
      strictEqual(arm(number), ALLOW, `aarch64 syscall ${number}`);
    }
  }
});

Deno.test("seccompPolicy() refuses sockets and exec in every stage, accept only in cli", () => {
  const cli = filterFor("x86_64", seccompPolicy("cli"));
  for (const stage of ["server-start", "server", "rpc-server"] as const) {
    const server = filterFor("x86_64", seccompPolicy(stage));
    for (
      const name of ["socket", "connect", "bind", "listen", "execve", "execveat", "ptrace"] as const
    ) {
      strictEqual(cli(name), EPERM, `cli ${name}`);
      strictEqual(server(name), EPERM, `${stage} ${name}`);
    }
    strictEqual(server("accept4"), ALLOW);
    strictEqual(server("accept"), ALLOW);
    strictEqual(server(53), ALLOW); // socketpair
    strictEqual(server(317), ALLOW, "seccomp: a later stage can only add restrictions");
  }
  strictEqual(cli("accept4"), EPERM);
  strictEqual(cli("accept"), EPERM);
  strictEqual(filterFor("aarch64", seccompPolicy("server"))("accept4"), ALLOW);
  strictEqual(filterFor("aarch64", seccompPolicy("cli"))("socket"), EPERM);
});

Deno.test('seccompPolicy("cli") and ("server-start") open files read-only', () => {
  for (
    const [arch, stage] of [
      ["x86_64", "cli"],
      ["aarch64", "cli"],
      ["x86_64", "server-start"],
      ["aarch64", "server-start"],
    ] as const
  ) {
    const filter = filterFor(arch, seccompPolicy(stage));
    const openat = (flags: bigint) => filter("openat", [AT_FDCWD, PATH, flags, 0o644n]);
    strictEqual(openat(O_RDONLY), ALLOW);
    strictEqual(openat(O_RDONLY | O_CLOEXEC), ALLOW);
    strictEqual(openat(O_DIRECTORY | O_CLOEXEC), ALLOW);
    strictEqual(openat(O_PATH), ALLOW);
    strictEqual(openat(O_APPEND), ALLOW); // O_APPEND without O_WRONLY cannot write
    strictEqual(openat(O_WRONLY), EPERM);
    strictEqual(openat(O_RDWR | O_CLOEXEC), EPERM);
    strictEqual(openat(O_CREAT), EPERM);
    strictEqual(openat(O_TRUNC), EPERM);
    strictEqual(openat(O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC), EPERM);
    // flags is an int: the kernel ignores the high half of the register, and so do we.
    strictEqual(openat(1n << 32n), ALLOW);
    strictEqual(filter("openat2", [AT_FDCWD, PATH, 0n, 24n]), ENOSYS); // its flags sit in memory
    strictEqual(filter("unlinkat"), EPERM);
    strictEqual(filter("renameat2"), EPERM);
    strictEqual(filter("mkdirat"), EPERM);
  }
  const x86 = filterFor("x86_64", seccompPolicy("cli"));
  strictEqual(x86("open", [PATH, O_RDONLY]), ALLOW);
  strictEqual(x86("open", [PATH, O_WRONLY | O_CREAT]), EPERM);
  strictEqual(x86("open", [PATH, O_RDONLY, O_WRONLY]), ALLOW); // the mode argument is not flags
  strictEqual(x86("creat", [PATH, 0o644n]), EPERM);
});

Deno.test('seccompPolicy("rpc-server") is the ready server\'s: accept on its listener, no open', () => {
  deepStrictEqual(seccompPolicy("rpc-server"), seccompPolicy("server"));
});

Deno.test('seccompPolicy("server") refuses every open', () => {
  for (const arch of ["x86_64", "aarch64"] as const) {
    const filter = filterFor(arch, seccompPolicy("server"));
    strictEqual(filter("openat", [AT_FDCWD, PATH, O_RDONLY | O_CLOEXEC]), EPERM);
    strictEqual(filter("openat2"), ENOSYS);
    strictEqual(filter("open_by_handle_at"), EPERM);
  }
  strictEqual(filterFor("x86_64", seccompPolicy("server"))("open", [PATH, O_RDONLY]), EPERM);
});

Deno.test("seccompPolicy() never lets a file be opened for writing or the file system change", () => {
  for (const stage of ["cli", "server-start", "server", "rpc-server"] as const) {
    const policy = seccompPolicy(stage);
    for (const arch of ["x86_64", "aarch64"] as const) {
      const filter = filterFor(arch, policy);
      strictEqual(filter("openat", [AT_FDCWD, PATH, O_WRONLY | O_CREAT | O_TRUNC]), EPERM);
      strictEqual(filter("openat", [AT_FDCWD, PATH, O_RDWR]), EPERM);
      strictEqual(filter("renameat2"), EPERM);
      strictEqual(filter("unlinkat"), EPERM);
      strictEqual(filter("execve"), EPERM);
    }
    strictEqual(filterFor("x86_64", policy)("creat"), EPERM);
    strictEqual(filterFor("x86_64", policy)("rename"), EPERM);
  }
});

Deno.test("encodeBpf() lays out struct sock_filter little-endian", () => {
  deepStrictEqual(
    [...encodeBpf([{ code: 0x15, jt: 2, jf: 7, k: 0xc000003e }, {
      code: 0x06,
      jt: 0,
      jf: 0,
      k: ALLOW,
    }])],
    [0x15, 0, 2, 7, 0x3e, 0, 0, 0xc0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f],
  );
});

Deno.test("seccompInstructions() rejects an architecture it has no table for", () => {
  throws(() => seccompInstructions("riscv64" as SeccompArch, seccompPolicy("cli")), RangeError);
});

Deno.test("syscallNumber() knows arm64 has only the *at forms", () => {
  strictEqual(syscallNumber("aarch64", "open"), null);
  strictEqual(syscallNumber("aarch64", "openat"), 56);
  strictEqual(syscallNumber("x86_64", "openat"), 257);
  strictEqual(syscallNumber("aarch64", "execve"), 221);
  strictEqual(syscallNumber("x86_64", "socket"), 41);
});
