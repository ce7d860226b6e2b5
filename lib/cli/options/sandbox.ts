/**
 * Sandbox options.
 *
 * @module
 */
import type { OptionSection } from "../option_table.ts";

/** What the sandbox options set. */
export interface SandboxCliOptions {
  unsecure: boolean;
}

/** The sandbox options. */
export const SANDBOX_SECTION: OptionSection<SandboxCliOptions> = {
  title: "Sandbox",
  defaults: { unsecure: false },
  specs: [
    {
      names: ["--unsecure"],
      key: "unsecure",
      kind: "flag",
      help: "turn off the sandbox (Deno permission lockdown and seccomp)",
    },
  ],
};
