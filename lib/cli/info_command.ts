/**
 * `llamafile info FILE [--sandbox] [-ngl N --gpu ...]`: prints what a `.gguf` or a `.llamafile`
 * holds (`lib/onefile/describe.ts`); with GPU options, where each layer would go (a load that
 * only simulates its allocations); `--sandbox` then applies the CLI sandbox and reports its
 * layers.
 *
 * @module
 */
import { setUpGpu, wantsGpu } from "../engine/gpu_setup.ts";
import { formatPlacement } from "../engine/layer_placement.ts";
import { loadModel } from "../engine/model.ts";
import { describeFile } from "../onefile/describe.ts";
import { llamafileSelf } from "../onefile/llamafile_archive.ts";
import { resolveWeights } from "../onefile/llamafile_archive.ts";
import { gpuRequestFrom, offloadOptions } from "./load_model.ts";
import { applySandbox, formatSandboxReport } from "../sandbox/apply_sandbox.ts";
import { oneLine } from "../util/one_line.ts";
import { writeStderr, writeStdout } from "../util/stdout_writer.ts";
import { formatOptionHelp, parseArgs, UsageError } from "./option_table.ts";
import { INFO_TABLE, type InfoArgs } from "./options/info.ts";

/** The `llamafile info --help` text, generated from the `info` table. */
export function infoHelp(): string {
  return [
    "llamafile info: describe a GGUF or a llamafile (model, runtime, .args, entries)",
    "",
    "USAGE",
    "  llamafile info FILE [--sandbox] [-ngl N|auto|all] [--gpu ...] [-dev ...]",
    "  ./model.llamafile info [--sandbox]      describe this llamafile",
    ...formatOptionHelp(INFO_TABLE),
  ].join("\n") + "\n";
}

/**
 * Runs `llamafile info FILE [--sandbox]`; returns the exit code. Inside a llamafile, FILE
 * defaults to that llamafile.
 *
 * @param self The llamafile this process runs from (default {@linkcode llamafileSelf}).
 * @throws {UsageError} Without exactly one file (or none, inside a llamafile).
 */
export async function infoCommand(
  argv: readonly string[],
  self: string | undefined = llamafileSelf(),
): Promise<number> {
  const args = parseArgs(INFO_TABLE, argv);
  if (args.help) {
    writeStdout(infoHelp());
    return 0;
  }
  const file = args.files.length === 0 ? self : args.files.length === 1 ? args.files[0] : undefined;
  if (file === undefined) {
    throw new UsageError(
      args.files.length === 0
        ? "info needs a FILE (a .gguf or a .llamafile)"
        : `info describes one FILE, got ${args.files.length}`,
    );
  }
  // Names, keys and entry names are the file's text: each line is shown as one line.
  writeStdout((await describeFile(file)).map(oneLine).join("\n") + "\n");
  if (wantsGpu(gpuRequestFrom(args))) {
    writeStdout((await placementLines(args, file)).map(oneLine).join("\n") + "\n");
  }
  if (args.sandbox) {
    const report = applySandbox("cli", { log: (line) => writeStderr(`llamafile: ${line}`) });
    writeStdout(formatSandboxReport(report).join("\n") + "\n");
  }
  return 0;
}

/** The `offload:` lines: the devices, then where each layer would go. */
async function placementLines(args: InfoArgs, file: string): Promise<string[]> {
  const gpu = await setUpGpu(gpuRequestFrom(args));
  if (gpu.note !== null) writeStderr(`llamafile: warning: ${gpu.note}`);
  const lines = ["offload:"];
  for (const device of gpu.devices) {
    lines.push(
      `  ${device.name}: ${device.description} (${
        Math.round(device.freeBytes / 2 ** 20)
      } MiB free)`,
    );
  }
  if (gpu.devices.length === 0) return [...lines, "  every layer stays on the CPU"];
  const weights = await resolveWeights(file);
  if (weights === null) return [...lines, "  no weights to place"];
  using model = await loadModel(weights.path, {
    offset: weights.offset,
    noAlloc: true,
    ...offloadOptions(args, gpu),
  });
  lines.push(
    `  ${model.placement === null ? "no layer offloaded" : formatPlacement(model.placement)}`,
  );
  return lines;
}
