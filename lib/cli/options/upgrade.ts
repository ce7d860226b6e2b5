/**
 * `llamafile upgrade` options.
 *
 * @module
 */
import type { OptionTable } from "../option_table.ts";
import { PACK_ALIGN, parseAlign, platformSpec } from "./pack.ts";

/** What `llamafile upgrade` reads from its arguments. */
export interface UpgradeArgs {
  output?: string;
  align: number;
  /** `--platform`: the runtimes to carry (default: the old file's). */
  platforms?: string[];
  help: boolean;
  /** The old llamafile. */
  files: string[];
}

/** The `upgrade` table. */
export const UPGRADE_TABLE: OptionTable<UpgradeArgs> = {
  command: "upgrade",
  positional: "files",
  sections: [{
    title: "One file: llamafile upgrade",
    defaults: { align: PACK_ALIGN.max, help: false },
    specs: [
      {
        names: ["-o", "--output"],
        key: "output",
        kind: "string",
        arg: "FNAME",
        help: "the new llamafile (may be the old one: replaced only once the new one is complete)",
      },
      { ...platformSpec<UpgradeArgs>("carry"), defaultText: "the old file's" },
      {
        names: ["--align"],
        key: "align",
        kind: "string",
        arg: "N",
        parse: parseAlign,
        help:
          `data alignment of the weights, a power of 2 from ${PACK_ALIGN.min} to ${PACK_ALIGN.max}`,
      },
      { names: ["-h", "--help"], key: "help", kind: "flag", help: "show this help" },
    ],
  }],
};
