/**
 * `llamafile info` options.
 *
 * @module
 */
import type { OptionTable } from "../option_table.ts";
import { GPU_SECTION, type GpuCliOptions } from "./gpu.ts";

/** The GPU options `info` takes: where the layers would go. */
const PLACEMENT_KEYS = [
  "gpuLayers",
  "gpu",
  "devices",
  "splitMode",
  "tensorSplit",
  "mainGpu",
  "overrideTensors",
] as const;

/** What `llamafile info` reads from its arguments. */
export interface InfoArgs extends Pick<GpuCliOptions, typeof PLACEMENT_KEYS[number]> {
  sandbox: boolean;
  help: boolean;
  /** The file to describe. */
  files: string[];
}

/** The `info` table. */
export const INFO_TABLE: OptionTable<InfoArgs> = {
  command: "info",
  positional: "files",
  sections: [{
    title: "One file: llamafile info",
    defaults: { sandbox: false, help: false },
    specs: [
      {
        names: ["--sandbox"],
        key: "sandbox",
        kind: "flag",
        help: "also apply the CLI's sandbox and report what it forbids",
      },
      { names: ["-h", "--help"], key: "help", kind: "flag", help: "show this help" },
    ],
  }, {
    title: "llamafile info: GPU placement (a load that allocates nothing)",
    defaults: { gpu: "auto", overrideTensors: [] },
    specs: GPU_SECTION.specs.filter((spec) =>
      (PLACEMENT_KEYS as readonly string[]).includes(spec.key)
    ) as unknown as OptionTable<InfoArgs>["sections"][number]["specs"],
  }],
};
