/**
 * Picks the grammar a run uses from `--grammar`, `--grammar-file` and `-j`.
 *
 * @module
 */
import { UsageError } from "./options.ts";
import { MAX_GRAMMAR_LENGTH } from "../engine/grammar_check.ts";
import { readTextLimited } from "../util/read_limited.ts";

/** Where a grammar can come from on the command line. */
export interface GrammarInputs {
  grammar?: string | undefined;
  grammarFile?: string | undefined;
  jsonSchema?: string | undefined;
  jsonSchemaFile?: string | undefined;
}

/** True when `-j` or `-jf` is given: {@linkcode resolveGrammar} then needs the converter. */
export function wantsJsonSchema(inputs: GrammarInputs): boolean {
  return inputs.jsonSchema !== undefined || inputs.jsonSchemaFile !== undefined;
}

/**
 * The JSON schema converter, imported when a schema is given (a prompt without one does not
 * compile its 46 KB). Call it before the sandbox: a module loaded from a checkout may write
 * Deno's caches; later calls get the loaded module.
 */
export function jsonSchemaConverter(): Promise<
  typeof import("../engine/json_schema_to_grammar.ts")
> {
  return import("../engine/json_schema_to_grammar.ts");
}

/** The largest JSON schema file `-jf` reads. */
export const MAX_SCHEMA_FILE = 4 << 20;

async function readFileArg(path: string, limit: number, what: string): Promise<string> {
  try {
    return await readTextLimited(path, limit);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotCapable) throw cause;
    throw new UsageError(`Cannot read ${what} "${path}": ${(cause as Error).message}`);
  }
}

/**
 * Returns the GBNF text to use, or `undefined` for none. A JSON schema (`-j`, then `-jf`) wins,
 * then the grammar file, then the grammar text.
 */
export async function resolveGrammar(inputs: GrammarInputs): Promise<string | undefined> {
  const schemaText = inputs.jsonSchema ??
    (inputs.jsonSchemaFile === undefined
      ? undefined
      : await readFileArg(inputs.jsonSchemaFile, MAX_SCHEMA_FILE, "JSON schema file"));
  if (schemaText !== undefined) {
    const flag = inputs.jsonSchema !== undefined ? "--json-schema" : "--json-schema-file";
    const { jsonSchemaToGrammar, parseJsonSchemaArg } = await jsonSchemaConverter();
    try {
      return jsonSchemaToGrammar(parseJsonSchemaArg(schemaText));
    } catch (error) {
      throw new UsageError(`Invalid value for ${flag}: ${(error as Error).message}`);
    }
  }
  if (inputs.grammarFile !== undefined) {
    return await readFileArg(inputs.grammarFile, MAX_GRAMMAR_LENGTH * 4, "grammar file");
  }
  return inputs.grammar;
}
