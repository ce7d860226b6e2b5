/**
 * The files of `POST /slots/ID?action=save|restore` (`--slot-save-path`), by name only: a
 * name is one path component (no `/`, no `..`), so a request never reaches outside the folder.
 *
 * The sandboxed server opens no file once it is ready, so it does not read or write these
 * itself: a helper process started before the sandbox ({@linkcode HelperSlotFiles}, the same
 * program run as `llamafile __slot-files DIR`) does, with Deno permissions to read and write
 * that one folder and nothing else (no network, no FFI, no subprocesses). The server sends it
 * a file's bytes, or asks for them, over its stdin and stdout. {@linkcode DirectSlotFiles}
 * does the same in-process (tests, `--unsecure`).
 *
 * @module
 */
import { ApiError, invalidRequest } from "./errors.ts";

/** The hidden command that runs the helper: `llamafile __slot-files DIR`. */
export const SLOT_FILES_COMMAND = "__slot-files";

/** The largest slot file read or written (a slot's KV cache of a big context fits). */
export const MAX_SLOT_FILE = 8 * 2 ** 30;

/** Reads and writes slot files by name. */
export interface SlotFiles {
  /** The folder, as given. */
  readonly dir: string;
  /** Writes `bytes` as file `name` (replacing it); resolves with the bytes written. */
  write(name: string, bytes: Uint8Array): Promise<number>;
  /** The bytes of file `name`. */
  read(name: string): Promise<Uint8Array>;
  /** Stops the helper, if any; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Checks a slot file name as llama.cpp's `fs_validate_filename` does: one path component of at
 * most 255 bytes, no control characters, no `/ \ : * ? " < > |`, not `.` or `..`, no leading or
 * trailing space or dot. Returns it, or throws a 400.
 */
export function validateSlotFilename(name: unknown): string {
  if (typeof name !== "string" || name === "") {
    throw invalidRequest("filename must be a non-empty string", "filename");
  }
  const bytes = new TextEncoder().encode(name).length;
  const bad = bytes > 255 ||
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f\/\\:*?"<>|]/.test(name) ||
    name === "." || name === ".." ||
    /^[ .]|[ .]$/.test(name) ||
    name.includes("..");
  if (bad) {
    throw invalidRequest(
      `Invalid filename "${name}": a slot file is named by one path component (no "/", "\\" or "..")`,
      "filename",
    );
  }
  return name;
}

function notFound(name: string): ApiError {
  return invalidRequest(`Cannot restore the slot: there is no slot file "${name}"`, "filename");
}

/** Slot files read and written in this process (for tests and `--unsecure`). */
export class DirectSlotFiles implements SlotFiles {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async write(name: string, bytes: Uint8Array): Promise<number> {
    await Deno.writeFile(`${this.dir}/${validateSlotFilename(name)}`, bytes);
    return bytes.length;
  }

  async read(name: string): Promise<Uint8Array> {
    const path = `${this.dir}/${validateSlotFilename(name)}`;
    try {
      const info = await Deno.lstat(path);
      if (!info.isFile) throw notFound(name);
      if (info.size > MAX_SLOT_FILE) {
        throw invalidRequest(`Cannot restore the slot: "${name}" is larger than 8 GiB`);
      }
      return await Deno.readFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw notFound(name);
      throw error;
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const OP_WRITE = 1;
const OP_READ = 2;
const STATUS_OK = 0;
const STATUS_NOT_FOUND = 1;
const STATUS_ERROR = 2;

/** Reads exactly `n` bytes, or `null` at the end of the stream. */
async function readExactly(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  buffered: { chunk: Uint8Array },
  n: number,
): Promise<Uint8Array | null> {
  const out = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    if (buffered.chunk.length === 0) {
      const step = await reader.read();
      if (step.done) return null;
      buffered.chunk = step.value;
      continue;
    }
    const take = Math.min(n - at, buffered.chunk.length);
    out.set(buffered.chunk.subarray(0, take), at);
    buffered.chunk = buffered.chunk.subarray(take);
    at += take;
  }
  return out;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

function readU32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

function readU64(b: Uint8Array): number {
  return Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

/**
 * Slot files read and written by a helper process with access to the folder only. Start it
 * before the sandbox forbids running programs ({@linkcode HelperSlotFiles.start}).
 */
export class HelperSlotFiles implements SlotFiles {
  readonly dir: string;
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffered = { chunk: new Uint8Array(0) };
  #busy: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(dir: string, child: Deno.ChildProcess) {
    this.dir = dir;
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#reader = child.stdout.getReader();
  }

  /**
   * Starts the helper: this program (`mainModule`) run by `deno` with read and write access to
   * `dir` only.
   */
  static start(dir: string, mainModule = Deno.mainModule): HelperSlotFiles {
    const main = mainModule.startsWith("file:") ? new URL(mainModule).pathname : mainModule;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        // A packed llamafile's bundled app runs without a config and from the cache only.
        ...(main.endsWith(".js") ? ["--no-config", "--cached-only"] : []),
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        main,
        SLOT_FILES_COMMAND,
        dir,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    return new HelperSlotFiles(dir, child);
  }

  #serial<T>(call: () => Promise<T>): Promise<T> {
    const run = this.#busy.then(call);
    this.#busy = run.catch(() => {});
    return run;
  }

  async #exchange(frame: Uint8Array[]): Promise<{ status: number; payload: Uint8Array }> {
    if (this.#closed) throw new Error("Cannot use the slot files: the helper is stopped");
    for (const part of frame) await this.#writer.write(part);
    const head = await readExactly(this.#reader, this.#buffered, 9);
    if (head === null) throw new Error("The slot file helper exited");
    const status = head[0]!;
    const size = readU64(head.subarray(1));
    const payload = await readExactly(this.#reader, this.#buffered, size);
    if (payload === null && size > 0) throw new Error("The slot file helper exited");
    return { status, payload: payload ?? new Uint8Array(0) };
  }

  write(name: string, bytes: Uint8Array): Promise<number> {
    const file = new TextEncoder().encode(validateSlotFilename(name));
    return this.#serial(async () => {
      const { status, payload } = await this.#exchange([
        new Uint8Array([OP_WRITE]),
        u32(file.length),
        file,
        u64(bytes.length),
        bytes,
      ]);
      if (status !== STATUS_OK) {
        throw new ApiError(
          "server_error",
          `Cannot save the slot file "${name}": ${new TextDecoder().decode(payload)}`,
        );
      }
      return bytes.length;
    });
  }

  read(name: string): Promise<Uint8Array> {
    const file = new TextEncoder().encode(validateSlotFilename(name));
    return this.#serial(async () => {
      const { status, payload } = await this.#exchange([
        new Uint8Array([OP_READ]),
        u32(file.length),
        file,
      ]);
      if (status === STATUS_NOT_FOUND) throw notFound(name);
      if (status !== STATUS_OK) {
        throw invalidRequest(
          `Cannot restore the slot: ${new TextDecoder().decode(payload)}`,
          "filename",
        );
      }
      return payload;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#busy;
    await this.#writer.close().catch(() => {});
    this.#reader.releaseLock();
    await this.#child.stdout.cancel().catch(() => {});
    await this.#child.status;
  }
}

/**
 * The helper's loop (`llamafile __slot-files DIR`): reads requests on stdin, answers on stdout,
 * until stdin ends. Returns the exit code.
 */
export async function runSlotFileHelper(dir: string | undefined): Promise<number> {
  if (dir === undefined) {
    console.error(`llamafile: ${SLOT_FILES_COMMAND} needs a folder`);
    return 2;
  }
  const files = new DirectSlotFiles(dir);
  const reader = Deno.stdin.readable.getReader();
  const writer = Deno.stdout.writable.getWriter();
  const buffered = { chunk: new Uint8Array(0) };
  const answer = async (status: number, payload: Uint8Array) => {
    await writer.write(new Uint8Array([status]));
    await writer.write(u64(payload.length));
    await writer.write(payload);
  };
  const text = (message: string) => new TextEncoder().encode(message);
  while (true) {
    const op = await readExactly(reader, buffered, 1);
    if (op === null) return 0;
    const nameLength = await readExactly(reader, buffered, 4);
    if (nameLength === null) return 1;
    const name = await readExactly(reader, buffered, readU32(nameLength));
    if (name === null) return 1;
    const file = new TextDecoder().decode(name);
    try {
      if (op[0] === OP_WRITE) {
        const size = await readExactly(reader, buffered, 8);
        if (size === null) return 1;
        const bytes = await readExactly(reader, buffered, readU64(size));
        if (bytes === null) return 1;
        await files.write(file, bytes);
        await answer(STATUS_OK, new Uint8Array(0));
      } else if (op[0] === OP_READ) {
        await answer(STATUS_OK, await files.read(file));
      } else {
        await answer(STATUS_ERROR, text(`unknown request ${op[0]}`));
      }
    } catch (error) {
      const message = error instanceof ApiError && error.message.includes("there is no slot file")
        ? null
        : (error as Error).message;
      if (message === null) await answer(STATUS_NOT_FOUND, new Uint8Array(0));
      else await answer(STATUS_ERROR, text(message));
    }
  }
}
