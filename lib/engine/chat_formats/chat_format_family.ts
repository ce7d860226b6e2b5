/**
 * A family of templates with a dedicated format (upstream `common/parsers/*.cpp`): how to know
 * its templates, and the params of a request for them.
 *
 * @module
 */
import type { ChatParams } from "./chat_params.ts";
import type { FormatInputs, FormatTemplate } from "./template_apply.ts";

/** A family with its own parser, grammar and prompt adjustments. */
export interface ChatFormatFamily {
  /** Its name, as logs and `/props` show it. */
  readonly name: string;
  /** Whether `source` is one of its templates. */
  matches(source: string): boolean;
  /** The params of `inputs` with `template`. */
  params(template: FormatTemplate, inputs: FormatInputs): ChatParams;
}
