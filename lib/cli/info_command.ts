/**
 * `llamafile info FILE [--sandbox]`: prints what a `.gguf` or a `.llamafile` holds
 * (`lib/onefile/describe.ts`); `--sandbox` then applies the CLI sandbox and reports its layers.
 *
 * @module
 */
import { describeFile } from "../onefile/describe.ts";
import { applySandbox, formatSandboxReport } from "../sandbox/apply_sandbox.ts";
import { writeStderr, writeStdout } from "../util/stdout_writer.ts";
import { formatOptionHelp, parseArgs, UsageError } from "./option_table.ts";
import { INFO_TABLE } from "./options/info.ts";

/** The `llamafile info --help` text, generated from the `info` table. */
export function infoHelp(): string {
  return [
    "llamafile info: describe a GGUF or a llamafile (model, runtime, .args, entries)",
    "",
    "USAGE",
    "  llamafile info FILE [--sandbox]",
    ...formatOptionHelp(INFO_TABLE),
  ].join("\n") + "\n";
}

/**
 * Runs `llamafile info FILE [--sandbox]`; returns the exit code.
 *
 * @throws {UsageError} Without exactly one file.
 */
export async function infoCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(INFO_TABLE, argv);
  if (args.help) {
    writeStdout(infoHelp());
    return 0;
  }
  if (args.files.length !== 1) {
    throw new UsageError("info needs one FILE (a .gguf or a .llamafile)");
  }
  writeStdout((await describeFile(args.files[0]!)).join("\n") + "\n");
  if (args.sandbox) {
    const report = applySandbox("cli", { log: (line) => writeStderr(`llamafile: ${line}`) });
    writeStdout(formatSandboxReport(report).join("\n") + "\n");
  }
  return 0;
}
