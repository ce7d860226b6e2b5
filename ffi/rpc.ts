/**
 * llama.cpp's RPC backend (`libggml-rpc.so`, built from the same release as our libllama):
 * the client side (`--rpc host:port`: remote devices that take model layers) and the worker
 * side (`llamafile rpc-server`: this process's CPU device served to such clients).
 *
 * The module is loaded with `ggml_backend_load` into the process that already holds the npm
 * package's `libggml-base.so`: its `NEEDED libggml-base.so` resolves to that one (same
 * SONAME), so there is one ggml in the process, never two.
 *
 * ggml's RPC client keeps one connection per endpoint only while something holds it (a
 * `std::weak_ptr` cache), and opens a new one for the next call otherwise. So that the
 * sandbox can refuse every new socket after start-up, {@linkcode connectRpcServers} creates a
 * backend on every remote device before the sandbox: that backend holds the connection, and
 * every later call (the model load, each decode) reuses it.
 *
 * @module
 */
import { dlopenLazy } from "./dlopen_lazy.ts";
import { cString, readCString } from "./cstring.ts";
import { LibraryLoadError, type LlamaLibrary } from "./library.ts";
import { GGML_LIB, RPC_LIB, rpcBuildDir, rpcLibraryPath } from "./library_path.ts";
import { RPC_BACKEND_SYMBOLS, RPC_SYMBOLS } from "./symbols.ts";

/** `enum ggml_backend_dev_type`: the CPU. */
const DEV_TYPE_CPU = 0;

/** One device of a remote `rpc-server`, as this process sees it. */
export interface RpcDevice {
  /** `host:port` as given. */
  endpoint: string;
  /** ggml's name for it (`RPC0`, `RPC1`, ...). */
  name: string;
  /** Memory the worker reports, bytes. */
  free: number;
  total: number;
}

/** The loaded RPC backend. */
interface RpcBackend {
  path: string;
  symbols: Deno.DynamicLibrary<typeof RPC_SYMBOLS>["symbols"];
  addServer: Deno.UnsafeFnPointer<typeof RPC_BACKEND_SYMBOLS.ggml_backend_rpc_add_server>;
  startServer: Deno.UnsafeFnPointer<typeof RPC_BACKEND_SYMBOLS.ggml_backend_rpc_start_server>;
}

let backend: RpcBackend | null = null;
/**
 * Backends that hold the connections, one per remote device. ggml's registry keeps the
 * devices for the life of the process (a backend registration cannot be undone), so these
 * live as long: they belong to the process, like the library handle.
 */
const pinned = new Map<string, RpcDevice[]>();

/** Where to get the module when it is missing, for messages. */
function whereToGetIt(dir: string): string {
  const built = rpcBuildDir();
  return `"${RPC_LIB}" is neither beside ${GGML_LIB} in "${dir}" nor in "${
    built ?? "~/.cache/llamafile-build/rpc"
  }/lib" (run: deno task build-rpc, or set LLAMAFILE_RPC_LIB)`;
}

/**
 * Loads ggml's RPC backend into the process (once).
 *
 * @throws {LibraryLoadError} When the module is missing or ggml refuses it.
 */
function loadRpcBackend(lib: LlamaLibrary): RpcBackend {
  if (backend) return backend;
  const symbols = dlopenLazy(`${lib.dir}/${GGML_LIB}`, RPC_SYMBOLS).symbols;
  let reg = lib.ggml.ggml_backend_reg_by_name(cString("RPC"));
  // Loaded already when it sits among the CPU backends and ggml scored them all.
  let path = `${rpcLibraryPath(lib.dir) ?? lib.dir} (loaded with the CPU backends)`;
  if (reg === null) {
    const found = rpcLibraryPath(lib.dir);
    if (found === null) throw new LibraryLoadError(`Cannot use RPC: ${whereToGetIt(lib.dir)}`);
    path = found;
    try {
      Deno.statSync(path);
    } catch (cause) {
      throw new LibraryLoadError(
        `Cannot load the RPC backend "${path}": ${
          cause instanceof Deno.errors.NotFound ? "no such file" : (cause as Error).message
        }`,
        { cause },
      );
    }
    const mark = lib.errorMark();
    reg = lib.ggml.ggml_backend_load(cString(path));
    if (reg === null) {
      const why = lib.errorsSince(mark).at(-1) ??
        "ggml_backend_load returned NULL (a module of another llama.cpp release?)";
      throw new LibraryLoadError(`Cannot load the RPC backend "${path}": ${why}`);
    }
  }
  // deno-lint-ignore no-explicit-any
  const proc = (name: keyof typeof RPC_BACKEND_SYMBOLS): Deno.PointerObject<any> => {
    const pointer = lib.ggml.ggml_backend_reg_get_proc_address(reg, cString(name));
    if (pointer === null) {
      throw new LibraryLoadError(`Cannot find ${name} in the RPC backend "${path}"`);
    }
    return pointer;
  };
  const { ggml_backend_rpc_add_server, ggml_backend_rpc_start_server } = RPC_BACKEND_SYMBOLS;
  backend = {
    path,
    symbols,
    addServer: new Deno.UnsafeFnPointer(
      proc("ggml_backend_rpc_add_server"),
      ggml_backend_rpc_add_server,
    ),
    startServer: new Deno.UnsafeFnPointer(
      proc("ggml_backend_rpc_start_server"),
      ggml_backend_rpc_start_server,
    ),
  };
  return backend;
}

/** The path of the RPC backend module this process loads (or loaded). */
export function rpcBackendPath(lib: LlamaLibrary): string {
  return loadRpcBackend(lib).path;
}

function deviceMemory(
  symbols: RpcBackend["symbols"],
  device: Deno.PointerObject,
): { free: number; total: number } {
  const free = new BigUint64Array(1);
  const total = new BigUint64Array(1);
  symbols.ggml_backend_dev_memory(
    device,
    new Uint8Array(free.buffer),
    new Uint8Array(total.buffer),
  );
  return { free: Number(free[0]), total: Number(total[0]) };
}

/**
 * Connects to the `rpc-server` workers at `endpoints` (`host:port`), registers their devices
 * with ggml (a model loaded afterwards puts its layers on them, as llama.cpp's `--rpc` does)
 * and keeps one connection to each open for the rest of the process. Call it before the
 * sandbox: it makes the only sockets the process will use. An endpoint connected before is
 * not connected again.
 *
 * A worker that cannot be reached makes ggml abort (the library's abort reporter then prints
 * one line and the process exits 1); `lib.during()` names the endpoint in that line.
 *
 * @throws {LibraryLoadError} When the RPC backend cannot be loaded, or a worker has no device.
 */
export async function connectRpcServers(
  lib: LlamaLibrary,
  endpoints: readonly string[],
): Promise<RpcDevice[]> {
  const rpc = loadRpcBackend(lib);
  const out: RpcDevice[] = [];
  for (const endpoint of endpoints) {
    const known = pinned.get(endpoint);
    if (known) {
      out.push(...known);
      continue;
    }
    const reg = await lib.during(
      `Cannot connect to the RPC server "${endpoint}"`,
      () => Promise.resolve(rpc.addServer.call(cString(endpoint))),
    );
    if (reg === null) {
      throw new LibraryLoadError(`Cannot use the RPC server "${endpoint}": it offers no device`);
    }
    rpc.symbols.ggml_backend_register(reg);
    const devices: RpcDevice[] = [];
    const count = Number(rpc.symbols.ggml_backend_reg_dev_count(reg));
    for (let i = 0; i < count; i++) {
      const device = rpc.symbols.ggml_backend_reg_dev_get(reg, BigInt(i));
      if (device === null) continue;
      // Holds the endpoint's connection for good (see the module notes).
      const held = await lib.during(
        `Cannot connect to the RPC server "${endpoint}"`,
        () => Promise.resolve(rpc.symbols.ggml_backend_dev_init(device, null)),
      );
      if (held === null) {
        throw new LibraryLoadError(
          `Cannot use the RPC server "${endpoint}": ggml could not open its device ${i}`,
        );
      }
      devices.push({
        endpoint,
        name: readCString(rpc.symbols.ggml_backend_dev_name(device)) ?? `RPC device ${i}`,
        ...deviceMemory(rpc.symbols, device),
      });
    }
    pinned.set(endpoint, devices);
    out.push(...devices);
  }
  return out;
}

/** The local device an `rpc-server` serves. */
export interface RpcWorkerDevice {
  name: string;
  description: string;
  free: number;
  total: number;
}

/** The running worker of {@linkcode startRpcServer}. */
export interface RpcWorker {
  /** The device it serves. */
  device: RpcWorkerDevice;
  /**
   * Settles when ggml's server loop returns, which it does only when it could not listen or
   * accept (it prints why on stderr).
   */
  stopped: Promise<void>;
}

/**
 * Starts llama.cpp's RPC server loop on `host:port` for this process's CPU device with
 * `threads` threads, on a thread of its own; returns at once. The loop serves one client
 * at a time, for as long as the process lives.
 *
 * @throws {LibraryLoadError} When the RPC backend cannot be loaded or there is no CPU device.
 */
export function startRpcServer(
  lib: LlamaLibrary,
  host: string,
  port: number,
  threads: number,
): RpcWorker {
  const rpc = loadRpcBackend(lib);
  const cpu = rpc.symbols.ggml_backend_dev_by_type(DEV_TYPE_CPU);
  if (cpu === null) throw new LibraryLoadError("Cannot start the RPC server: no CPU device");
  const device: RpcWorkerDevice = {
    name: readCString(rpc.symbols.ggml_backend_dev_name(cpu)) ?? "CPU",
    description: readCString(rpc.symbols.ggml_backend_dev_description(cpu)) ?? "",
    ...deviceMemory(rpc.symbols, cpu),
  };
  const endpoint = cString(`${host}:${port}`);
  const devices = new BigUint64Array([BigInt(Deno.UnsafePointer.value(cpu))]);
  const stopped = rpc.startServer.call(
    endpoint,
    null,
    BigInt(threads),
    1n,
    new Uint8Array(devices.buffer),
  ).then(() => {
    // The buffers stay referenced until the call settles.
    void endpoint;
    void devices;
  });
  return { device, stopped };
}

const SOL_SOCKET = 1;
const SO_ACCEPTCONN = 30;
const AF_INET = 2;
/** The highest file descriptor scanned for listening sockets. */
const MAX_FD = 4096;

/**
 * The TCP ports this process listens on over IPv4 (sockets with `SO_ACCEPTCONN` set), found
 * by asking each file descriptor: how the worker learns the port ggml's loop bound.
 */
export function listeningPorts(lib: LlamaLibrary): number[] {
  const { symbols } = loadRpcBackend(lib);
  const value = new Int32Array(1);
  const length = new Uint32Array(1);
  const address = new Uint8Array(16);
  const ports: number[] = [];
  for (let fd = 0; fd < MAX_FD; fd++) {
    length[0] = 4;
    if (
      symbols.getsockopt(
          fd,
          SOL_SOCKET,
          SO_ACCEPTCONN,
          new Uint8Array(value.buffer),
          new Uint8Array(length.buffer),
        ) !== 0 || value[0] !== 1
    ) continue;
    length[0] = address.length;
    if (symbols.getsockname(fd, address, new Uint8Array(length.buffer)) !== 0) continue;
    // struct sockaddr_in: family (host order), then the port in network order.
    if (address[0]! + (address[1]! << 8) !== AF_INET) continue;
    ports.push((address[2]! << 8) + address[3]!);
  }
  return ports;
}
