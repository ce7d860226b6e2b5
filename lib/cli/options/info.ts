/**
 * `llamafile info` options.
 *
 * @module
 */
import type { OptionTable } from "../option_table.ts";

/** What `llamafile info` reads from its arguments. */
export interface InfoArgs {
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
  }],
};
