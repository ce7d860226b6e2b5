/**
 * Picks the grammar a run uses from `--grammar`, `--grammar-file` and `-j`.
 *
 * @module
 */
import { UsageError } from "./options.ts";
import { MAX_GRAMMAR_LENGTH } from "../engine/grammar_check.ts";
import { readTextLimited } from "../util/read_limited.ts";
import { jsonSchemaToGrammar, parseJsonSchemaArg } from "../engine/json_schema_to_grammar.ts";

/** Where a grammar can come from on the command line. */
export interface GrammarInputs {
  grammar?: string | undefined;
  grammarFile?: string | undefined;
  jsonSchema?: string | undefined;
}

/** Returns the GBNF text to use, or `undefined` for none. JSON schema wins, then the file, then the text. */
export async function resolveGrammar(inputs: GrammarInputs): Promise<string | undefined> {
  if (inputs.jsonSchema !== undefined) {
    let schema: unknown;
    try {
      schema = parseJsonSchemaArg(inputs.jsonSchema);
      return jsonSchemaToGrammar(schema);
    } catch (error) {
      throw new UsageError(`Invalid value for --json-schema: ${(error as Error).message}`);
    }
  }
  if (inputs.grammarFile !== undefined) {
    try {
      return await readTextLimited(inputs.grammarFile, MAX_GRAMMAR_LENGTH * 4);
    } catch (cause) {
      if (cause instanceof Deno.errors.NotCapable) throw cause;
      throw new UsageError(
        `Cannot read grammar file "${inputs.grammarFile}": ${(cause as Error).message}`,
      );
    }
  }
  return inputs.grammar;
}
