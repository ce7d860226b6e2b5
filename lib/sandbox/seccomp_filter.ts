/**
 * Builds the seccomp-BPF program of the kernel sandbox layer, as bytes.
 *
 * Pure: no FFI, no I/O. `ffi/seccomp.ts` installs what this builds. The filter is a
 * deny-list (Deno's runtime uses many syscalls; we forbid the few a model runner never
 * needs), checks the architecture word first, and answers refusals with `EPERM` so the
 * caller sees an ordinary error instead of a dead process.
 *
 * @module
 */
import { type BpfInstruction, encodeBpf } from "../../ffi/seccomp.ts";

export type { BpfInstruction };

/** CPU architectures the filter knows syscall numbers for (`Deno.build.arch` values). */
export type SeccompArch = "x86_64" | "aarch64";

/** `AUDIT_ARCH_*` words the kernel puts in `seccomp_data.arch` (little-endian, 64-bit). */
export const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = {
  x86_64: 0xc000003e, // EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
  aarch64: 0xc00000b7, // EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
};

/** `__NR_seccomp` per architecture. */
export const SYS_SECCOMP: Readonly<Record<SeccompArch, number>> = { x86_64: 317, aarch64: 277 };

/** Syscalls numbers on x86-64 of the x32 ABI have this bit set. */
export const X32_SYSCALL_BIT = 0x40000000;

/** `SECCOMP_RET_*` actions (the high 16 bits of a filter's return value). */
export const SECCOMP_RET = {
  killProcess: 0x80000000,
  errno: 0x00050000,
  allow: 0x7fff0000,
} as const;

/** errno values used in `SECCOMP_RET_ERRNO` (same on x86-64 and arm64). */
export const ERRNO = { EPERM: 1, ENOSYS: 38 } as const;

/** Open flags that make an `open` a write (`O_WRONLY|O_RDWR|O_CREAT|O_TRUNC`; same on both arches). */
export const OPEN_WRITE_FLAGS = 0x1 | 0x2 | 0x40 | 0x200;

/**
 * Syscall numbers per architecture for every syscall a policy may name: `[x86_64, aarch64]`,
 * `null` where the architecture lacks it (arm64 has only the `*at` forms).
 * From `asm/unistd_64.h` and `asm-generic/unistd.h`; numbers from 424 on are shared.
 */
const SYSCALL_TABLE = {
  socket: [41, 198],
  connect: [42, 203],
  accept: [43, 202],
  bind: [49, 200],
  listen: [50, 201],
  accept4: [288, 242],
  // processes
  execve: [59, 221],
  execveat: [322, 281],
  ptrace: [101, 117],
  process_vm_readv: [310, 270],
  process_vm_writev: [311, 271],
  pidfd_getfd: [438, 438],
  // kernel interfaces a model runner never needs
  io_uring_setup: [425, 425],
  io_uring_enter: [426, 426],
  io_uring_register: [427, 427],
  bpf: [321, 280],
  perf_event_open: [298, 241],
  userfaultfd: [323, 282],
  keyctl: [250, 219],
  add_key: [248, 217],
  request_key: [249, 218],
  unshare: [272, 97],
  setns: [308, 268],
  mount: [165, 40],
  umount2: [166, 39],
  pivot_root: [155, 41],
  chroot: [161, 51],
  open_tree: [428, 428],
  move_mount: [429, 429],
  fsopen: [430, 430],
  fsmount: [432, 432],
  mount_setattr: [442, 442],
  kexec_load: [246, 104],
  kexec_file_load: [320, 294],
  init_module: [175, 105],
  finit_module: [313, 273],
  delete_module: [176, 106],
  uselib: [134, null],
  swapon: [167, 224],
  swapoff: [168, 225],
  reboot: [169, 142],
  // opening files
  open: [2, null],
  openat: [257, 56],
  openat2: [437, 437],
  creat: [85, null],
  open_by_handle_at: [304, 265],
  name_to_handle_at: [303, 264],
  // changing the file system
  truncate: [76, 45],
  rename: [82, null],
  renameat: [264, 38],
  renameat2: [316, 276],
  mkdir: [83, null],
  mkdirat: [258, 34],
  rmdir: [84, null],
  link: [86, null],
  linkat: [265, 37],
  unlink: [87, null],
  unlinkat: [263, 35],
  symlink: [88, null],
  symlinkat: [266, 36],
  mknod: [133, null],
  mknodat: [259, 33],
  chmod: [90, null],
  fchmod: [91, 52],
  fchmodat: [268, 53],
  fchmodat2: [452, 452],
  chown: [92, null],
  fchown: [93, 55],
  lchown: [94, null],
  fchownat: [260, 54],
  setxattr: [188, 5],
  lsetxattr: [189, 6],
  fsetxattr: [190, 7],
  removexattr: [197, 14],
  lremovexattr: [198, 15],
  fremovexattr: [199, 16],
  utime: [132, null],
  utimes: [235, null],
  futimesat: [261, null],
  utimensat: [280, 88],
} as const satisfies Record<string, readonly [number, number | null]>;

/** A syscall name the filter builder knows. */
export type SyscallName = keyof typeof SYSCALL_TABLE;

/** The syscall number of `name` on `arch`, or `null` where that architecture lacks it. */
export function syscallNumber(arch: SeccompArch, name: SyscallName): number | null {
  return SYSCALL_TABLE[name][arch === "x86_64" ? 0 : 1];
}

/** Which `open`s the filter lets through. */
export type OpenPolicy =
  /** Every open is allowed. */
  | "any"
  /** Opening with `O_WRONLY`, `O_RDWR`, `O_CREAT` or `O_TRUNC` fails with `EPERM`; `creat` too. */
  | "read-only"
  /** Every `open`, `openat` and `creat` fails with `EPERM`. */
  | "none";

/** What a filter forbids. Everything not named here is allowed. */
export interface SeccompPolicy {
  /** Syscalls that fail with `EPERM`. */
  readonly deny: readonly SyscallName[];
  /** Which opens are allowed. Unless `"any"`, `openat2` fails with `ENOSYS` (BPF cannot read its flags), so libraries fall back to `openat`. */
  readonly open: OpenPolicy;
}

/**
 * The syscalls policies refuse, by what they do. `network` is refused whole in the CLI;
 * the server keeps `accept`/`accept4` for its listener.
 */
export const SYSCALL_GROUPS = {
  network: ["socket", "connect", "bind", "listen", "accept", "accept4"],
  exec: ["execve", "execveat"],
  /** Reading, writing or stealing from other processes. */
  otherProcesses: ["ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd"],
  /** Kernel interfaces a model runner never needs; io_uring would run opens and sockets past seccomp. */
  kernel: [
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsmount",
    "mount_setattr",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "uselib",
    "swapon",
    "swapoff",
    "reboot",
    "open_by_handle_at",
    "name_to_handle_at",
  ],
  /** Changing the file system other than through `open`. */
  fileChanges: [
    "truncate",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "rmdir",
    "link",
    "linkat",
    "unlink",
    "unlinkat",
    "symlink",
    "symlinkat",
    "mknod",
    "mknodat",
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
  ],
} as const satisfies Record<string, readonly SyscallName[]>;

/**
 * When a filter is installed: the CLI's one stage, or the server's two.
 *
 * - `"cli"`: before anything untrusted is parsed (model, grammar, template, prompt file).
 * - `"server-start"`: once the listener exists, before the model is loaded.
 * - `"server"`: once the model is loaded and the server is ready (stacked on the first).
 * - `"rpc-server"`: once `llamafile rpc-server` listens (its one socket, made by ggml).
 */
export type SandboxStage = "cli" | "server-start" | "server" | "rpc-server";

/**
 * The policy of a sandbox stage.
 *
 * - `"cli"`: no sockets at all (`socket`, `connect`, `bind`, `listen`, `accept*`), no exec,
 *   no other process's memory, files open read-only and the file system unchanged (the
 *   `--prompt-cache` file is opened before, and written through that handle).
 * - `"server-start"`: the same, except that accepting on the existing listener still works.
 * - `"server"`: as `"server-start"`, and no `open` at all.
 * - `"rpc-server"`: as `"server"`: the worker accepts clients on its listener and computes;
 *   a client that exploits a bug in it cannot connect out, start a program or open a file.
 *
 * Socketpair stays allowed: it creates an unnamed, connected pair that reaches nothing
 * outside the process, and tokio's signal driver makes one when a signal listener is added.
 * `seccomp` itself stays allowed: a later stage can only add restrictions.
 */
export function seccompPolicy(stage: SandboxStage): SeccompPolicy {
  const { network, exec, otherProcesses, kernel, fileChanges } = SYSCALL_GROUPS;
  const sockets = stage === "cli" ? network : network.filter((name) => !name.startsWith("accept"));
  return {
    deny: [...sockets, ...exec, ...otherProcesses, ...kernel, ...fileChanges],
    open: stage === "server" || stage === "rpc-server" ? "none" : "read-only",
  };
}

// Classic BPF opcodes (linux/bpf_common.h).
const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JEQ_K = 0x15;
const BPF_JMP_JGE_K = 0x35;
const BPF_JMP_JSET_K = 0x45;
const BPF_RET_K = 0x06;
/** The kernel's limit on a filter's length (`BPF_MAXINSNS`). */
const BPF_MAXINSNS = 4096;

// Offsets in `struct seccomp_data` (nr, arch, instruction_pointer, args[6]).
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
/** Offset of the low 32 bits of `args[i]` (both arches are little-endian). */
const argLow = (i: number) => 16 + 8 * i;

const ld = (offset: number): BpfInstruction => ({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: offset });
const jeq = (k: number, jt: number, jf: number): BpfInstruction => ({
  code: BPF_JMP_JEQ_K,
  jt,
  jf,
  k,
});
const jge = (k: number, jt: number, jf: number): BpfInstruction => ({
  code: BPF_JMP_JGE_K,
  jt,
  jf,
  k,
});
const jset = (k: number, jt: number, jf: number): BpfInstruction => ({
  code: BPF_JMP_JSET_K,
  jt,
  jf,
  k,
});
const ret = (k: number): BpfInstruction => ({ code: BPF_RET_K, jt: 0, jf: 0, k: k >>> 0 });

/**
 * The filter's instructions for `policy` on `arch`.
 *
 * Layout: load the arch word, kill the process unless it is `arch` (a 32-bit or x32 syscall
 * would index another syscall table); load the number (on x86-64 kill x32 numbers, letting
 * -1 through); then one `jeq nr` + `ret` pair per denied syscall, an argument check for the
 * open family, and `ret ALLOW`. Every jump is short and forward, so no offset can overflow.
 */
export function seccompInstructions(arch: SeccompArch, policy: SeccompPolicy): BpfInstruction[] {
  const auditArch = AUDIT_ARCH[arch];
  if (auditArch === undefined) {
    throw new RangeError(
      `Cannot build a seccomp filter for architecture "${arch}": unknown syscall numbers`,
    );
  }
  const eperm = SECCOMP_RET.errno | ERRNO.EPERM;
  const enosys = SECCOMP_RET.errno | ERRNO.ENOSYS;
  const program: BpfInstruction[] = [
    ld(OFFSET_ARCH),
    jeq(auditArch, 1, 0),
    ret(SECCOMP_RET.killProcess),
    ld(OFFSET_NR),
  ];
  if (arch === "x86_64") {
    program.push(jge(X32_SYSCALL_BIT, 0, 2), jeq(0xffffffff, 1, 0), ret(SECCOMP_RET.killProcess));
  }
  const denied = new Set<number>();
  const refuse = (name: SyscallName, action: number) => {
    const nr = syscallNumber(arch, name);
    if (nr === null || denied.has(nr)) return;
    denied.add(nr);
    program.push(jeq(nr, 0, 1), ret(action));
  };
  for (const name of policy.deny) refuse(name, eperm);
  if (policy.open !== "any") {
    refuse("openat2", enosys);
    refuse("creat", eperm);
    if (policy.open === "none") {
      refuse("open", eperm);
      refuse("openat", eperm);
    } else {
      // open(path, flags, mode): flags is args[1]; openat(dirfd, path, flags, mode): args[2].
      for (const [name, flagsArg] of [["open", 1], ["openat", 2]] as const) {
        const nr = syscallNumber(arch, name);
        if (nr === null) continue;
        program.push(
          jeq(nr, 0, 4),
          ld(argLow(flagsArg)),
          jset(OPEN_WRITE_FLAGS, 0, 1),
          ret(eperm),
          ret(SECCOMP_RET.allow),
        );
      }
    }
  }
  program.push(ret(SECCOMP_RET.allow));
  if (program.length > BPF_MAXINSNS) {
    throw new RangeError(
      `Cannot build a seccomp filter of ${program.length} instructions: the limit is ${BPF_MAXINSNS}`,
    );
  }
  return program;
}

/** The filter for `policy` on `arch`, as the bytes of a `struct sock_filter[]`. */
export function buildSeccompFilter(
  arch: SeccompArch,
  policy: SeccompPolicy,
): Uint8Array<ArrayBuffer> {
  return encodeBpf(seccompInstructions(arch, policy));
}
