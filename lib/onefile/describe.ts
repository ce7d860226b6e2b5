/**
 * What a `.gguf` or a `.llamafile` holds, as `llamafile info` prints it.
 *
 * For a GGUF: architecture, parameters, quant type, context length, chat template, vocab size.
 * For a llamafile, also: the runtime version, the platforms it holds a runtime for and their
 * sizes, the `.args`, and every entry with its data offset, size, alignment and compression;
 * the model lines for each `.gguf` entry (read in place at its offset).
 *
 * @module
 */

import {
  type GgufFile,
  type GgufSummary,
  ggufSummary,
  GgufType,
  readGguf,
} from "../engine/gguf_reader.ts";
import { formatBytes } from "../util/format_bytes.ts";
import { readHead } from "../util/read_head.ts";
import { argsFileQuote } from "./args_file.ts";
import {
  ARGS_ENTRY,
  isWeightsEntry,
  llamafilePlatforms,
  readLlamafileArgs,
  RUNTIME_FOLDER,
  VERSION_ENTRY,
} from "./llamafile_archive.ts";
import { METHOD_DEFLATE, METHOD_STORE } from "./zip_format.ts";
import {
  readEntryBytes,
  readZipDirectory,
  type ZipDirectory,
  type ZipEntry,
} from "./zip_reader.ts";

/** `1234567` → `1.23M`: a parameter count the way model cards write it. */
export function formatCount(n: number): string {
  const units: [number, string][] = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]];
  for (const [size, unit] of units) {
    if (n >= size) {
      return `${(n / size).toFixed(n / size >= 100 ? 0 : 2).replace(/\.?0+$/, "")}${unit}`;
    }
  }
  return String(n);
}

/** The model lines of a GGUF summary, `label: value`, indented by `indent`. */
export function formatModelSummary(summary: GgufSummary, indent = ""): string[] {
  const rows: [string, string][] = [
    ["architecture", summary.architecture ?? "unknown"],
    ["name", summary.name ?? "-"],
    ["parameters", `${formatCount(summary.parameterCount)} (${summary.parameterCount})`],
    ["quant type", summary.fileTypeName],
    [
      "context length",
      summary.contextLength === undefined ? "unknown" : String(summary.contextLength),
    ],
    ["chat template", summary.hasChatTemplate ? "yes" : "no"],
    [
      "vocab size",
      summary.vocabSize === undefined
        ? "unknown"
        : `${summary.vocabSize}${summary.tokenizerModel ? ` (${summary.tokenizerModel})` : ""}`,
    ],
    ["tensors", `${summary.tensorCount} (${formatBytes(summary.tensorBytes)})`],
  ];
  return rows.map(([label, value]) => `${indent}${`${label}:`.padEnd(16)}${value}`);
}

/** True when `gguf` is a multimodal projector (`general.architecture` is `clip`). */
export function isProjector(gguf: GgufFile): boolean {
  return gguf.metadata.get("general.architecture")?.value === "clip";
}

/** The lines of a multimodal projector: type, output width, what it takes, size. */
export function formatProjectorSummary(gguf: GgufFile, indent = ""): string[] {
  const value = (key: string) => {
    const kv = gguf.metadata.get(key);
    return kv === undefined || kv.type === GgufType.ARRAY ? undefined : kv.value;
  };
  const takes = [
    value("clip.has_vision_encoder") === true
      ? `images (${value("clip.vision.image_size") ?? "?"} px, patch ${
        value("clip.vision.patch_size") ?? "?"
      })`
      : null,
    value("clip.has_audio_encoder") === true ? "audio" : null,
  ].filter((x) => x !== null);
  const summary = ggufSummary(gguf);
  const rows: [string, string][] = [
    ["architecture", "clip (multimodal projector)"],
    [
      "projector type",
      String(value("clip.projector_type") ?? value("clip.vision.projector_type") ?? "unknown"),
    ],
    ["output width", String(value("clip.vision.projection_dim") ?? "unknown")],
    ["takes", takes.join(", ") || "nothing known"],
    ["parameters", `${formatCount(summary.parameterCount)} (${summary.parameterCount})`],
    ["tensors", `${summary.tensorCount} (${formatBytes(summary.tensorBytes)})`],
  ];
  return rows.map(([label, v]) => `${indent}${`${label}:`.padEnd(16)}${v}`);
}

function _method(entry: ZipEntry): string {
  if (entry.method === METHOD_STORE) return "store";
  if (entry.method === METHOD_DEFLATE) return "deflate";
  return `method ${entry.method}`;
}

/** The entry table of a llamafile: offset, size, stored size, alignment, method, name. */
export function formatEntryTable(entries: readonly ZipEntry[]): string[] {
  const rows = [["offset", "size", "stored", "align", "method", "name"]];
  for (const e of [...entries].sort((a, b) => a.dataOffset - b.dataOffset)) {
    rows.push([
      String(e.dataOffset),
      String(e.size),
      String(e.compressedSize),
      String(Math.min(e.alignment, 65536)) + (e.alignment > 65536 ? "+" : ""),
      _method(e),
      e.name,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((row) =>
    "  " +
    row.map((
      cell,
      i,
    ) => (i < 4 ? cell.padStart(widths[i]!) : i === 5 ? cell : cell.padEnd(widths[i]!))).join("  ")
  );
}

/**
 * One line per platform the llamafile holds: its runtime's files and sizes (inflated and
 * stored), then the runtime entries every platform shares (the app).
 */
export function formatPlatformSizes(
  platforms: readonly string[],
  entries: readonly ZipEntry[],
): string[] {
  const runtime = entries.filter((e) => e.name.startsWith(RUNTIME_FOLDER) && !e.isDirectory);
  const line = (label: string, files: readonly ZipEntry[]) => {
    const size = files.reduce((n, e) => n + e.size, 0);
    const stored = files.reduce((n, e) => n + e.compressedSize, 0);
    return `  ${`${label}:`.padEnd(14)}${files.length} ${files.length === 1 ? "file" : "files"}, ${
      formatBytes(size)
    } (${formatBytes(stored)} stored)`;
  };
  const lines = platforms.map((p) =>
    line(p, runtime.filter((e) => e.name.startsWith(`${RUNTIME_FOLDER}${p}/`)))
  );
  const shared = runtime.filter((e) =>
    e.name !== VERSION_ENTRY && !e.name.slice(RUNTIME_FOLDER.length).includes("/")
  );
  if (shared.length > 0) lines.push(line("shared", shared));
  return lines;
}

async function _isArchive(path: string): Promise<ZipDirectory | null> {
  using file = await Deno.open(path, { read: true });
  const head = await readHead(file, 4);
  if (String.fromCharCode(...head) === "GGUF") return null;
  return await readZipDirectory(path);
}

/** The `info` lines for `path` (a `.gguf` or a llamafile). */
export async function describeFile(path: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot describe "${path}": no such file`, { cause });
    }
    throw cause;
  }
  if (!info.isFile) throw new Error(`Cannot describe "${path}": not a regular file`);
  const directory = await _isArchive(path);
  if (directory === null) {
    const gguf = await readGguf(path);
    return [
      `file:           ${path} (GGUF v${gguf.version}, ${formatBytes(info.size)})`,
      ...(isProjector(gguf) ? formatProjectorSummary(gguf) : formatModelSummary(ggufSummary(gguf))),
    ];
  }
  const lines = [
    `file:           ${path} (llamafile, ${
      formatBytes(info.size)
    }, ${directory.entries.length} entries${directory.zip64 ? ", ZIP64" : ""})`,
  ];
  const version = directory.entries.find((e) => e.name === VERSION_ENTRY);
  if (version !== undefined) {
    const v = JSON.parse(
      new TextDecoder().decode(await readEntryBytes(path, version, { maxSize: 1 << 16 })),
    );
    lines.push(
      `runtime:        llamafile.ts ${v.llamafile}, deno ${v.deno}, llama.cpp ${v["llama.cpp"]}`,
    );
  } else {
    lines.push("runtime:        none (no runtime/version.json entry)");
  }
  const platforms = await llamafilePlatforms(path, directory);
  lines.push(
    `platforms:      ${platforms.join(", ") || "none"}`,
    ...formatPlatformSizes(platforms, directory.entries),
  );
  if (directory.entries.some((e) => e.name === ARGS_ENTRY)) {
    const words = await readLlamafileArgs(path);
    lines.push(`.args:          ${(words ?? []).map(argsFileQuote).join(" ") || "(empty)"}`);
  } else {
    lines.push(".args:          none");
  }
  for (const entry of directory.entries.filter(isWeightsEntry)) {
    if (entry.method !== METHOD_STORE) {
      lines.push(`weights:        ${entry.name} at offset ${entry.dataOffset}`);
      lines.push("  (compressed: cannot be read in place)");
      continue;
    }
    try {
      const gguf = await readGguf(path, { offset: entry.dataOffset, name: entry.name });
      if (isProjector(gguf)) {
        const carried = platforms.filter((p) =>
          directory.entries.some((e) => e.name === `${RUNTIME_FOLDER}${p}/lib/libmtmd.so`)
        );
        lines.push(
          `projector:      ${entry.name} at offset ${entry.dataOffset} (libmtmd for ${
            carried.join(", ") || "no platform"
          })`,
          ...formatProjectorSummary(gguf, "  "),
        );
      } else {
        lines.push(
          `weights:        ${entry.name} at offset ${entry.dataOffset}`,
          ...formatModelSummary(ggufSummary(gguf), "  "),
        );
      }
    } catch (error) {
      lines.push(`weights:        ${entry.name} at offset ${entry.dataOffset}`);
      lines.push(`  ${(error as Error).message}`);
    }
  }
  lines.push("entries:", ...formatEntryTable(directory.entries));
  return lines;
}
