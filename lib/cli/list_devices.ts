/**
 * `--list-devices`: the GPU devices `--gpu` can use, as llama.cpp prints them
 * (`  Vulkan0: NAME (TOTAL MiB, FREE MiB free)`), then exit.
 *
 * @module
 */
import { listGpuDevices } from "../engine/gpu_setup.ts";
import { writeStderr, writeStdout } from "../util/stdout_writer.ts";
import type { CliOptions } from "./options.ts";

const MIB = 2 ** 20;

/** Prints the devices; returns the exit code (0, also when there are none). */
export async function listDevicesCommand(options: CliOptions): Promise<number> {
  const { devices, problems } = await listGpuDevices(options.gpu);
  const lines = ["Available devices:"];
  if (devices.length === 0) lines.push("  (none)");
  for (const device of devices) {
    lines.push(
      `  ${device.name}: ${device.description} (${Math.round(device.totalBytes / MIB)} MiB, ${
        Math.round(device.freeBytes / MIB)
      } MiB free)`,
    );
  }
  writeStdout(lines.join("\n") + "\n");
  if (options.verbose) { for (const problem of problems) writeStderr(`llamafile: ${problem}`); }
  return 0;
}
