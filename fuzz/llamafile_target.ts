/**
 * Fuzz target `llamafile`: a packed stories260K llamafile with its ZIP archive mutated (the end
 * record, central and local headers, ZIP64 fields, the `.args` and manifest entries, the
 * weights' bytes, truncation of the archive) and run the way a user runs it, from a warm
 * runtime cache. The launcher's own text is left alone (its truncation has a test of its own).
 *
 * @module
 */
import { readZipDirectory, type ZipDirectory } from "../lib/onefile/zip_reader.ts";
import { caseIndexes, type FuzzCounts, type FuzzOptions, newCounts } from "./counts.ts";
import { CASE_ARGS, MODELS, record, ROOT } from "./cli_case.ts";
import { type CaseRun } from "./outcome.ts";
import { Rng } from "./rng.ts";
import { pool, runCase } from "./subprocess.ts";

/** A numeric field of the archive: where, how wide, what. */
interface Field {
  offset: number;
  width: 2 | 4 | 8;
  what: string;
}

/** The fields of the end record and of every central and local header. */
function fields(directory: ZipDirectory, bytes: Uint8Array): Field[] {
  const out: Field[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = directory.fileSize - 22 - directory.comment.length;
  for (
    const [at, width, what] of [
      [8, 2, "entries on disk"],
      [10, 2, "entries"],
      [12, 4, "directory size"],
      [16, 4, "directory offset"],
      [20, 2, "comment length"],
    ] as const
  ) {
    out.push({ offset: eocd + at, width, what: `end record: ${what}` });
  }
  let at = directory.centralDirectoryOffset;
  for (const entry of directory.entries) {
    const name = entry.name;
    for (
      const [field, width, what] of [
        [6, 2, "version needed"],
        [8, 2, "flags"],
        [10, 2, "method"],
        [16, 4, "crc"],
        [20, 4, "compressed size"],
        [24, 4, "size"],
        [28, 2, "name length"],
        [30, 2, "extra length"],
        [32, 2, "comment length"],
        [34, 2, "disk"],
        [42, 4, "local header offset"],
      ] as const
    ) {
      out.push({ offset: at + field, width, what: `central ${name}: ${what}` });
    }
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    at += 46 + nameLength + extraLength + commentLength;
    const local = entry.localHeaderOffset;
    for (
      const [field, width, what] of [
        [0, 4, "signature"],
        [8, 2, "method"],
        [18, 4, "compressed size"],
        [26, 2, "name length"],
        [28, 2, "extra length"],
      ] as const
    ) {
      out.push({ offset: local + field, width, what: `local ${name}: ${what}` });
    }
  }
  return out;
}

const INTERESTING = [0, 1, 0xff, 0xffff, 0x10000, 0x7fffffff, 0xffffffff, 46, 30, 22];

/** One mutation of the packed file's archive. */
function mutate(
  seed: Uint8Array,
  directory: ZipDirectory,
  archiveStart: number,
  rng: Rng,
): { bytes: Uint8Array; what: string } {
  const bytes = seed.slice();
  const view = new DataView(bytes.buffer);
  const kind = rng.pick(["field", "field", "field", "args", "manifest", "weights", "truncate"]);
  if (kind === "field") {
    const field = rng.pick(fields(directory, seed));
    const value = rng.chance(0.7) ? rng.pick(INTERESTING) : rng.int(0x100000000);
    if (field.width === 2) view.setUint16(field.offset, value & 0xffff, true);
    else if (field.width === 4) view.setUint32(field.offset, value >>> 0, true);
    else view.setBigUint64(field.offset, BigInt(value), true);
    return { bytes, what: `${field.what} -> ${value}` };
  }
  if (kind === "truncate") {
    const end = archiveStart + rng.int(seed.length - archiveStart);
    return { bytes: bytes.slice(0, end), what: `truncated at ${end} of ${seed.length}` };
  }
  const name = kind === "args"
    ? ".args"
    : kind === "manifest"
    ? ".manifest.sha256"
    : directory.entries.find((e) => e.name.endsWith(".gguf"))!.name;
  const entry = directory.entries.find((e) => e.name === name)!;
  const span = kind === "weights" ? Math.min(entry.compressedSize, 200_000) : entry.compressedSize;
  const where: number[] = [];
  for (let i = 0, n = 1 + rng.int(6); i < n && span > 0; i++) {
    const at = entry.dataOffset + rng.int(span);
    bytes[at] = rng.chance(0.5) ? rng.pick([0, 0x22, 0x27, 0x5c, 0x0a, 0xff]) : rng.int(256);
    where.push(at - entry.dataOffset);
  }
  return { bytes, what: `${name} bytes changed at ${where.join(",")}` };
}

/** Packs the seed llamafile (stories260K with defaults in `.args`) into `dir`. */
async function packSeed(dir: string): Promise<string> {
  const args = `${dir}/seed.args`;
  await Deno.writeTextFile(args, "-c 256\n-t 1\n...\n--temp 0\n");
  const path = `${dir}/seed.llamafile`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-all",
      `${ROOT}/cli.ts`,
      "pack",
      "-m",
      `${MODELS}/stories260K.gguf`,
      "--args",
      args,
      "-o",
      path,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`Cannot pack the seed llamafile: ${new TextDecoder().decode(out.stderr)}`);
  }
  return path;
}

/** Runs the `llamafile` target. */
export async function fuzzLlamafile(options: FuzzOptions): Promise<FuzzCounts> {
  const counts = newCounts();
  const started = performance.now();
  const dir = await Deno.makeTempDir({ prefix: "fuzz_llamafile_" });
  try {
    const seedPath = await packSeed(dir);
    const seed = await Deno.readFile(seedPath);
    const directory = await readZipDirectory(seedPath);
    const archiveStart = Math.min(...directory.entries.map((e) => e.localHeaderOffset));
    const cache = `${dir}/cache`;
    await Deno.mkdir(cache);
    const env = { XDG_CACHE_HOME: cache };
    const warm = await runCase("sh", [seedPath, ...CASE_ARGS], { env, timeoutMs: 120_000 });
    if (warm.code !== 0) throw new Error(`The seed llamafile does not run: ${warm.stderr}`);
    const indexes = caseIndexes(options);
    await pool(indexes.length, options.jobs, async (n) => {
      const index = indexes[n]!;
      const path = `${dir}/case${index}.llamafile`;
      const { bytes, what } = mutate(
        seed,
        directory,
        archiveStart,
        Rng.forCase(options.seed, index),
      );
      await Deno.writeFile(path, bytes, { mode: 0o755 });
      const run: CaseRun = await runCase("sh", [path, ...CASE_ARGS], {
        env,
        timeoutMs: options.timeoutMs,
        cwd: dir,
      });
      counts.cases++;
      await record("llamafile", index, run, counts, options, {
        file: path,
        what,
        command: `sh {input} ${CASE_ARGS.map((a) => `'${a}'`).join(" ")}`,
      });
      await Deno.remove(path).catch(() => {});
    });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  counts.ms = performance.now() - started;
  return counts;
}
