/**
 * Installs a seccomp-BPF filter on every thread of this process, through libc.
 *
 * Also binds a few raw libc calls (`socket`, `open`, `execve`) that return the kernel's
 * answer with `errno`, so tests can see what the kernel refuses: native code ignores Deno's
 * permissions, so only a native call shows what the filter does.
 *
 * @module
 */
import { dlopenLazy } from "./dlopen_lazy.ts";
import { cString } from "./cstring.ts";
import { readProcText } from "./proc.ts";

const LIBC = "libc.so.6";

const LIBC_SYMBOLS = {
  // int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  // long syscall(long number, ...): used as syscall(SYS_seccomp, operation, flags, args)
  syscall: { parameters: ["i64", "u64", "u64", "pointer"], result: "i64" },
  // int *__errno_location(void)
  __errno_location: { parameters: [], result: "pointer" },
  // int socket(int domain, int type, int protocol)
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int open(const char *pathname, int flags, mode_t mode)
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
  // int execve(const char *pathname, char *const argv[], char *const envp[])
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  // DIR *opendir(const char *name)
  opendir: { parameters: ["buffer"], result: "pointer" },
  // struct dirent *readdir(DIR *dirp)
  readdir: { parameters: ["pointer"], result: "pointer" },
  // int closedir(DIR *dirp)
  closedir: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Offset of `d_name` in glibc's `struct dirent` on 64-bit Linux (d_ino, d_off, d_reclen, d_type). */
const DIRENT_NAME = 19;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

const PR_SET_NO_NEW_PRIVS = 38;
const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_FILTER_FLAG_TSYNC = 1;

/** errno names we report by name. */
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  13: "EACCES",
  14: "EFAULT",
  22: "EINVAL",
  38: "ENOSYS",
};

/** `"EPERM"` for 1, `"errno 99"` for a number we do not name. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

let libc: { symbols: Libc; errno: Int32Array } | null = null;

function openLibc(): { symbols: Libc; errno: Int32Array } {
  if (libc) return libc;
  // errno is read after these: they are bound with fast calls, which run nothing after them.
  const lib = dlopenLazy(LIBC, LIBC_SYMBOLS, ["prctl", "syscall", "socket", "open", "execve"]);
  // errno of the JS thread, where every synchronous FFI call runs. Reading it through a
  // view costs no call that could overwrite it between the failing call and the read.
  const location = lib.symbols.__errno_location();
  if (location === null) {
    throw new Error(`Cannot find errno: __errno_location() in "${LIBC}" returned NULL`);
  }
  libc = {
    symbols: lib.symbols,
    errno: new Int32Array(Deno.UnsafePointerView.getArrayBuffer(location, 4)),
  };
  return libc;
}

/** A libc call's result and the errno it left (0 when the call succeeded). */
export interface NativeResult {
  result: number;
  errno: number;
}

function call(run: (symbols: Libc) => number | bigint): NativeResult {
  const { symbols, errno } = openLibc();
  errno[0] = 0;
  const result = Number(run(symbols));
  return { result, errno: result < 0 ? errno[0]! : 0 };
}

/** Why installing a filter failed: at which step, and the errno. */
export interface SeccompInstallFailure {
  step: "prctl(PR_SET_NO_NEW_PRIVS)" | "seccomp(SECCOMP_SET_MODE_FILTER)";
  errno: number;
  /** For TSYNC: the id of a thread that could not take the filter (the errno is then 0). */
  thread?: number;
}

/**
 * Sets no_new_privs, then installs `filter` (a `struct sock_filter[]`) with
 * `SECCOMP_FILTER_FLAG_TSYNC`, so it applies to every thread that exists now (Deno's,
 * V8's, tokio's, ggml's) and to every thread created later. Irreversible.
 *
 * @param filter the program's bytes, 8 per instruction
 * @param sysSeccomp the seccomp syscall number of this architecture
 * @returns `null` on success, else the step that failed
 */
export function installSeccompFilter(
  filter: Uint8Array<ArrayBuffer>,
  sysSeccomp: number,
): SeccompInstallFailure | null {
  if (filter.byteLength === 0 || filter.byteLength % 8 !== 0 || filter.byteLength / 8 > 0xffff) {
    throw new RangeError(
      `Cannot install a seccomp filter of ${filter.byteLength} bytes: not a sock_filter array`,
    );
  }
  const noNewPrivs = call((libc) => libc.prctl(PR_SET_NO_NEW_PRIVS, 1n, 0n, 0n, 0n));
  if (noNewPrivs.result !== 0) {
    return { step: "prctl(PR_SET_NO_NEW_PRIVS)", errno: noNewPrivs.errno };
  }
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (16 bytes on 64-bit)
  const fprog = new Uint8Array(16);
  const view = new DataView(fprog.buffer);
  view.setUint16(0, filter.byteLength / 8, true);
  view.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(filter))), true);
  const installed = call((libc) =>
    libc.syscall(
      BigInt(sysSeccomp),
      BigInt(SECCOMP_SET_MODE_FILTER),
      BigInt(SECCOMP_FILTER_FLAG_TSYNC),
      Deno.UnsafePointer.of(fprog),
    )
  );
  if (installed.result === 0) return null;
  if (installed.result > 0) {
    return { step: "seccomp(SECCOMP_SET_MODE_FILTER)", errno: 0, thread: installed.result };
  }
  return { step: "seccomp(SECCOMP_SET_MODE_FILTER)", errno: installed.errno };
}

/** Raw `socket(domain, type, protocol)`; closes the socket again if one was made. */
export function nativeSocket(domain: number, type: number, protocol = 0): NativeResult {
  const made = call((libc) => libc.socket(domain, type, protocol));
  if (made.result >= 0) openLibc().symbols.close(made.result);
  return made;
}

/** Raw `open(path, flags, mode)`; closes the file again if one was opened. */
export function nativeOpen(path: string, flags: number, mode = 0o600): NativeResult {
  const opened = call((libc) => libc.open(cString(path), flags, mode));
  if (opened.result >= 0) openLibc().symbols.close(opened.result);
  return opened;
}

/**
 * Raw `execve(path, [path], [])`. If the kernel allows it, this process is replaced by
 * `path` and the call never returns.
 */
export function nativeExecve(path: string): NativeResult {
  const file = cString(path);
  const argv = new BigUint64Array([
    BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(file))),
    0n,
  ]);
  const envp = new BigUint64Array([0n]);
  return call((libc) =>
    libc.execve(file, new Uint8Array(argv.buffer), new Uint8Array(envp.buffer))
  );
}

/** One `struct sock_filter` instruction. */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Encodes instructions as the `struct sock_filter[]` array (8 bytes each, little-endian). */
export function encodeBpf(program: readonly BpfInstruction[]): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach(({ code, jt, jf, k }, i) => {
    view.setUint16(i * 8, code, true);
    view.setUint8(i * 8 + 2, jt);
    view.setUint8(i * 8 + 3, jf);
    view.setUint32(i * 8 + 4, k, true);
  });
  return bytes;
}

/**
 * The `Seccomp:` mode (0 off, 2 filter) of every thread of this process, read from
 * `/proc/self/task/<tid>/status` with libc; empty when `/proc` cannot be read.
 */
export function threadSeccompModes(): number[] {
  const { symbols } = openLibc();
  const dir = symbols.opendir(cString("/proc/self/task"));
  if (dir === null) return [];
  const tids: string[] = [];
  try {
    for (let entry = symbols.readdir(dir); entry !== null; entry = symbols.readdir(dir)) {
      const name = new Deno.UnsafePointerView(entry).getCString(DIRENT_NAME);
      if (/^\d+$/.test(name)) tids.push(name);
    }
  } finally {
    symbols.closedir(dir);
  }
  return tids.flatMap((tid) => {
    const status = readProcText(`/proc/self/task/${tid}/status`);
    const mode = status === null ? null : /^Seccomp:\s*(\d+)/m.exec(status)?.[1];
    return mode === undefined || mode === null ? [] : [Number(mode)];
  });
}
