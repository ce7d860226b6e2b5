/**
 * Opens libggml + libllama once per process, loads the CPU backend variants,
 * routes libllama's log, and checks the struct ABI. Other backends (a GPU's) are loaded into
 * the same registry on demand by `backend_registry.ts`.
 *
 * @module
 */
import { cpuFlags, cpuIdentity, pickCpuVariant } from "./cpu_variant.ts";
import { cString, readCString } from "./cstring.ts";
import { cpuinfoText } from "./proc.ts";
import {
  cpuBackendChoice,
  GGML_LIB,
  libraryDir,
  LLAMA_LIB,
  NATIVE_CPU_LIB,
  NATIVE_CPU_STAMP,
  nativeBuildsDir,
  nativeCpuBackendDir,
} from "./library_path.ts";
import { assertAbi } from "./structs.ts";
import { dlopenLazy, type LazyLibrary } from "./dlopen_lazy.ts";
import { GGML_SYMBOLS, LLAMA_EAGER_SYMBOLS, LLAMA_SYMBOLS, THREADPOOL_SYMBOLS } from "./symbols.ts";
import { sha256Hex } from "../lib/util/sha256.ts";
import { trace } from "../lib/util/trace.ts";

/** The build of the loaded libraries, as they report it. */
export interface LibraryBuild {
  /** `llama_version()`, e.g. `0.5.0-dev`. */
  llama: string;
  /** `ggml_version()`, e.g. `0.25.1`. */
  ggml: string;
  /** `ggml_commit()`: the source commit the libraries were built from, e.g. `0ad4a86`. */
  commit: string;
}

/** The CPU backend a process loaded. */
export interface CpuBackend {
  /**
   * `native`: built for this machine (`llamafile --build-native`); `prebuilt`: the npm
   * package's variant for this CPU (or the one ggml scored best); `path`: the library
   * `LLAMAFILE_CPU_BACKEND` names.
   */
  kind: "native" | "prebuilt" | "path";
  /** The file loaded (for `prebuilt`, `null` when ggml chose among every variant). */
  path: string | null;
  /** `zen4 (prebuilt)`, `native build`, ... for messages. */
  label: string;
}

/** ggml log levels (`enum ggml_log_level`). */
export const LOG_LEVEL = { none: 0, debug: 1, info: 2, warn: 3, error: 4, cont: 5 } as const;

/** Receives libllama's log lines (without the trailing newline). */
export type LogSink = (level: number, line: string) => void;

/** libllama symbols, bound. */
export type LlamaSymbols = Deno.DynamicLibrary<typeof LLAMA_SYMBOLS>["symbols"];
/** ggml symbols, bound. */
export type GgmlSymbols = Deno.DynamicLibrary<typeof GGML_SYMBOLS>["symbols"];

/** The process-wide handle on the native libraries. */
export interface LlamaLibrary {
  readonly dir: string;
  readonly llama: LlamaSymbols;
  readonly ggml: GgmlSymbols;
  readonly threadpoolNew: Deno.UnsafeFnPointer<typeof THREADPOOL_SYMBOLS.ggml_threadpool_new>;
  readonly threadpoolFree: Deno.UnsafeFnPointer<typeof THREADPOOL_SYMBOLS.ggml_threadpool_free>;
  /** What the loaded libraries say they are (`llama_version()`, `ggml_version()`, `ggml_commit()`). */
  readonly build: LibraryBuild;
  /** The CPU backend loaded. */
  readonly cpuBackend: CpuBackend;
  /** Default `llama_model_params`, checked against our layout. */
  modelDefaults(): Uint8Array<ArrayBuffer>;
  /** Default `llama_context_params`, checked against our layout. */
  contextDefaults(): Uint8Array<ArrayBuffer>;
  /** A mark in the stream of error lines libllama logged, for {@linkcode errorsSince}. */
  errorMark(): number;
  /** Error lines logged since `mark` (the last 16 at most). */
  errorsSince(mark: number): string[];
  /** Replaces where log lines go; `null` drops them. */
  setLogSink(sink: LogSink | null): void;
  /**
   * Replaces what happens when ggml aborts (a failed `GGML_ASSERT` in libllama or a backend):
   * `report` gets the assertion (`src/llama-vocab.cpp:2539: GGML_ASSERT(...) failed`) and what
   * was running (see {@linkcode during}), then the process exits with status 1. The default
   * writes one line to stderr. No debugger is ever started.
   */
  setAbortReporter(report: AbortReporter | null): void;
  /**
   * Runs `fn`, naming what it does for an abort that happens meanwhile (`Cannot load model
   * "x.gguf"`).
   */
  during<T>(what: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Runs `fn` with libllama's log routed to JS so that {@linkcode errorsSince} sees what
   * it logs, and `listener`, when given, every line of every level. Without a sink the log goes
   * to a native no-op instead: a JS callback costs a thread hop per line (a model load logs
   * hundreds), which made small loads 5x slower.
   */
  captureLog<T>(fn: () => Promise<T>, listener?: LogSink): Promise<T>;
  /**
   * Routes another library's log (libmtmd's, which takes a `ggml_log_callback` of its own) the
   * way libllama's goes: `set` is called now and whenever the route changes, with the callback
   * to install.
   */
  addLogTarget(set: (callback: Deno.PointerValue) => void): void;
}

/** Reports a native abort: ggml's message, and what was running (or `null`). */
export type AbortReporter = (message: string, during: string | null) => void;

/** Exit status of the process after a native abort has been reported. */
export const NATIVE_ABORT_EXIT = 1;

/**
 * ggml's abort message without the build machine's source path
 * (`/home/runner/.../llama.cpp/src/x.cpp:12: ...` → `src/x.cpp:12: ...`).
 */
export function shortAbortMessage(message: string): string {
  return message.replace(/^\S*?\/llama\.cpp\//, "").trim();
}

/** The native libraries could not be opened. */
export class LibraryLoadError extends Error {
  override name = "LibraryLoadError";
}

let opened: LlamaLibrary | null = null;

function defaultAbortReporter(message: string, during: string | null): void {
  const line = `${
    during === null ? "libllama aborted" : `${during}: libllama aborted`
  }: ${message}\n`;
  try {
    Deno.stderr.writeSync(new TextEncoder().encode(line));
  } catch {
    // stderr closed
  }
}

/**
 * Asks ggml not to fork a debugger on this process when C++ code terminates (its terminate
 * handler reads `GGML_NO_BACKTRACE` when libggml loads). The launchers set it; this covers
 * library use where the environment may be written.
 */
function noBacktrace(): void {
  try {
    if (Deno.env.get("GGML_NO_BACKTRACE") === undefined) Deno.env.set("GGML_NO_BACKTRACE", "1");
  } catch {
    // no --allow-env for it: the launcher's environment decides
  }
}

/** The key of this processor's native build folder (see `nativeCpuBackendDir()`). */
export function cpuKey(cpuinfo: string): string {
  return sha256Hex(cpuIdentity(cpuinfo)).slice(0, 16);
}

function statOf(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch {
    return null;
  }
}

/**
 * The verified native build for this processor (its library and stamp both there), or `null`.
 */
export function verifiedNativeBuild(cpuinfo: string): string | null {
  // No builds at all (the usual case): the processor's key is not worth hashing.
  const root = nativeBuildsDir();
  if (root === null || !statOf(root)?.isDirectory) return null;
  const dir = nativeCpuBackendDir(cpuKey(cpuinfo), root);
  if (dir === null) return null;
  const lib = `${dir}/${NATIVE_CPU_LIB}`;
  return statOf(`${dir}/${NATIVE_CPU_STAMP}`)?.isFile && statOf(lib)?.isFile ? lib : null;
}

/**
 * Loads one CPU backend: the library `LLAMAFILE_CPU_BACKEND` names; else, unless it says
 * `prebuilt`, the verified build for this machine; else the prebuilt variant the flags point
 * at, else every variant, scored by ggml. A native build ggml refuses falls back to the
 * prebuilt variant.
 */
function loadCpuBackend(ggml: GgmlSymbols, dir: string): CpuBackend {
  // No /proc/cpuinfo: let ggml score them all.
  const cpuinfo = cpuinfoText();
  const choice = cpuBackendChoice();
  if (choice !== undefined && choice !== "prebuilt") {
    if (ggml.ggml_backend_load(cString(choice)) === null) {
      throw new LibraryLoadError(
        `Cannot load the CPU backend "${choice}" that LLAMAFILE_CPU_BACKEND names: ggml could not load it`,
      );
    }
    return { kind: "path", path: choice, label: choice };
  }
  // The variants are x86-64's (an emulator may show the host's flags to an arm64 process).
  const x86 = Deno.build.arch === "x86_64" && cpuinfo !== null;
  if (choice === undefined && x86) {
    const native = verifiedNativeBuild(cpuinfo!);
    if (native !== null && ggml.ggml_backend_load(cString(native)) !== null) {
      return { kind: "native", path: native, label: "native build" };
    }
  }
  const variant = x86 ? pickCpuVariant(cpuFlags(cpuinfo!)) : null;
  const path = `${dir}/libggml-cpu-${variant}.so`;
  if (variant !== null && ggml.ggml_backend_load(cString(path)) !== null) {
    return { kind: "prebuilt", path, label: `${variant} (prebuilt)` };
  }
  ggml.ggml_backend_load_all_from_path(cString(dir));
  return { kind: "prebuilt", path: null, label: "best prebuilt variant" };
}

/** Opens the libraries (once); later calls return the same handle. */
export function openLibrary(): LlamaLibrary {
  if (opened) return opened;
  const dir = libraryDir();
  noBacktrace();
  let ggml: LazyLibrary<typeof GGML_SYMBOLS>;
  let llama: LazyLibrary<typeof LLAMA_SYMBOLS>;
  try {
    ggml = dlopenLazy(`${dir}/${GGML_LIB}`, GGML_SYMBOLS);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotCapable) throw cause;
    throw new LibraryLoadError(
      `Cannot open ${GGML_LIB} in "${dir}": ${
        (cause as Error).message
      } (run npm install, or set LLAMAFILE_LIBDIR)`,
      { cause },
    );
  }
  trace("libggml opened");
  try {
    llama = dlopenLazy(`${dir}/${LLAMA_LIB}`, LLAMA_SYMBOLS, LLAMA_EAGER_SYMBOLS);
  } catch (cause) {
    ggml.close();
    if (cause instanceof Deno.errors.NotCapable) throw cause;
    throw new LibraryLoadError(
      `Cannot open ${LLAMA_LIB} in "${dir}": ${(cause as Error).message}`,
      { cause },
    );
  }

  trace("libllama opened");
  // Route the log before anything else can print.
  let sink: LogSink | null = null;
  const errors: string[] = [];
  let errorCount = 0;
  let partial = "";
  let partialLevel = 0;
  const listeners = new Set<LogSink>();
  const logCallback = new Deno.UnsafeCallback(
    { parameters: ["i32", "pointer", "pointer"], result: "void" } as const,
    (level, text) => {
      const chunk = readCString(text) ?? "";
      if (level !== LOG_LEVEL.cont) partialLevel = level;
      partial += chunk;
      let newline: number;
      while ((newline = partial.indexOf("\n")) >= 0) {
        const line = partial.slice(0, newline);
        partial = partial.slice(newline + 1);
        if (partialLevel >= LOG_LEVEL.error) {
          errors.push(line);
          errorCount++;
          if (errors.length > 16) errors.shift();
        }
        sink?.(partialLevel, line);
        for (const listener of listeners) listener(partialLevel, line);
      }
    },
  );
  logCallback.unref();
  // `int abs(int)` ignores the extra arguments and has no side effects: a native no-op
  // with the log callback's calling convention on x86-64 and arm64.
  const nativeNoop = llama.symbols.dlsym(null, cString("abs"));
  let capturing = 0;
  const targets: ((callback: Deno.PointerValue) => void)[] = [];
  const route = () => {
    const toJs = sink !== null || capturing > 0 || nativeNoop === null;
    const callback = toJs ? logCallback.pointer : nativeNoop;
    llama.symbols.llama_log_set(callback, null);
    for (const set of targets) set(callback);
  };
  route();

  // A failed GGML_ASSERT calls ggml_abort, which by default prints and forks a debugger on
  // this process (gdb or lldb) before abort(). Ours reports one line and exits. It runs on the
  // JS thread: a call from another thread (a load, a decode off the event loop) waits for it.
  let reporter: AbortReporter | null = null;
  let running: string | null = null;
  const abortCallback = new Deno.UnsafeCallback(
    { parameters: ["pointer"], result: "void" } as const,
    (text) => {
      const message = shortAbortMessage(readCString(text) ?? "");
      try {
        (reporter ?? defaultAbortReporter)(message, running);
      } finally {
        Deno.exit(NATIVE_ABORT_EXIT);
      }
    },
  );
  abortCallback.unref();
  ggml.symbols.ggml_set_abort_callback(abortCallback.pointer);

  let cpuBackend: CpuBackend;
  try {
    cpuBackend = loadCpuBackend(ggml.symbols, dir);
  } catch (error) {
    llama.close();
    ggml.close();
    throw error;
  }
  trace("CPU backend loaded");
  llama.symbols.llama_backend_init();

  const modelDefaults = () => new Uint8Array(llama.symbols.llama_model_default_params());
  const contextDefaults = () => new Uint8Array(llama.symbols.llama_context_default_params());
  assertAbi(modelDefaults(), contextDefaults());

  const cpu = ggml.symbols.ggml_backend_reg_by_name(cString("CPU"));
  if (cpu === null) {
    throw new LibraryLoadError(
      `Cannot find the ggml CPU backend in "${dir}": no libggml-cpu-*.so was loadable`,
    );
  }
  // deno-lint-ignore no-explicit-any
  const proc = (name: string): Deno.PointerObject<any> => {
    const pointer = ggml.symbols.ggml_backend_reg_get_proc_address(cpu, cString(name));
    if (pointer === null) throw new LibraryLoadError(`Cannot find ${name} in the ggml CPU backend`);
    return pointer;
  };
  const threadpoolNew = new Deno.UnsafeFnPointer(
    proc("ggml_threadpool_new"),
    THREADPOOL_SYMBOLS.ggml_threadpool_new,
  );
  const threadpoolFree = new Deno.UnsafeFnPointer(
    proc("ggml_threadpool_free"),
    THREADPOOL_SYMBOLS.ggml_threadpool_free,
  );

  const build: LibraryBuild = {
    llama: readCString(llama.symbols.llama_version()) ?? "unknown",
    ggml: readCString(ggml.symbols.ggml_version()) ?? "unknown",
    commit: readCString(ggml.symbols.ggml_commit()) ?? "unknown",
  };

  opened = {
    dir,
    build,
    cpuBackend,
    llama: llama.symbols,
    ggml: ggml.symbols,
    threadpoolNew,
    threadpoolFree,
    modelDefaults,
    contextDefaults,
    errorMark: () => errorCount,
    errorsSince: (mark) => errors.slice(Math.max(0, errors.length - (errorCount - mark))),
    setLogSink(next) {
      sink = next;
      route();
    },
    setAbortReporter(next) {
      reporter = next;
    },
    async during(what, fn) {
      const before = running;
      running = what;
      try {
        return await fn();
      } finally {
        running = before;
      }
    },
    async captureLog(fn, listener) {
      capturing++;
      if (listener) listeners.add(listener);
      route();
      try {
        return await fn();
      } finally {
        capturing--;
        if (listener) listeners.delete(listener);
        route();
      }
    },
    addLogTarget(set) {
      targets.push(set);
      route();
    },
  };
  return opened;
}
