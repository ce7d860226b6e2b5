/**
 * Fuzz targets `grammar` and `schema`: generated and mutated GBNF grammars (`--grammar`) and
 * JSON schemas (`-j`), each run by the CLI on stories260K: nesting, recursion, huge rules and
 * repetitions, empty and reversed ranges, escapes, token references; recursive `$ref`s, huge
 * enums, patterns, bounds.
 *
 * @module
 */
import type { FuzzCounts, FuzzOptions } from "./counts.ts";
import { MODELS } from "./cli_case.ts";
import { fuzzFileCases } from "./file_cases.ts";
import type { Rng } from "./rng.ts";

const BASE = ["-m", `${MODELS}/stories260K.gguf`, "-p", "Once", "-n", "8", "-t", "1", "-c", "256"];

const CHARS = [
  "a",
  "z",
  "0",
  " ",
  "\\n",
  "\\t",
  "\\\\",
  '\\"',
  "\\x41",
  "\\u00e9",
  "\\U0001F600",
  "\\U0010FFFF",
  "\\U00110000",
  "\\xZZ",
  "é",
  "-",
  "]",
  "^",
];

/** A random GBNF element of nesting `depth`. */
function element(rng: Rng, depth: number, rules: number): string {
  const kind = rng.int(depth > 6 ? 5 : 8);
  switch (kind) {
    case 0:
      return `"${Array.from({ length: rng.int(4) }, () => rng.pick(CHARS)).join("")}"`;
    case 1: {
      const lo = rng.pick(CHARS);
      const hi = rng.pick(CHARS);
      return `[${rng.chance(0.2) ? "^" : ""}${lo}${rng.chance(0.6) ? `-${hi}` : ""}]`;
    }
    case 2:
      return `r${rng.int(rules + 1)}`;
    case 3:
      return rng.pick([".", `<[${rng.pick([0, 1, 2, 511, 512, 99999])}]>`, "!<[2]>", "<x>"]);
    case 4:
      return element(rng, depth + 1, rules) +
        rng.pick([
          "*",
          "+",
          "?",
          `{${rng.int(5)}}`,
          `{${rng.int(3)},${rng.int(6)}}`,
          "{3000}",
          "{1,}",
        ]);
    default:
      return `(${alternates(rng, depth + 1, rules)})`;
  }
}

function alternates(rng: Rng, depth: number, rules: number): string {
  return Array.from(
    { length: 1 + rng.int(3) },
    () => Array.from({ length: rng.int(4) }, () => element(rng, depth, rules)).join(" "),
  ).join(" | ");
}

/** A grammar: generated, or one of the known attacks with random sizes. */
export function grammarCase(rng: Rng): string {
  const n = rng.int(4);
  switch (rng.int(8)) {
    case 0: {
      const depth = rng.pick([10, 900, 1100, 20_000]);
      return `root ::= ${"(".repeat(depth)}"a"${")".repeat(depth)}`;
    }
    case 1: {
      const length = rng.pick([10, 900, 1100, 5000]);
      const rules = ['root ::= r0 "x"'];
      for (let i = 0; i < length; i++) rules.push(`r${i} ::= r${i + 1} "y"`);
      rules.push(`r${length} ::= "z"`);
      return rules.join("\n");
    }
    case 2: {
      const width = rng.pick([4, 12, 20]);
      const rules = ["root ::= r0"];
      for (let i = 0; i < width; i++) rules.push(`r${i} ::= r${i + 1} | r${i + 1} "x"`);
      rules.push(`r${width} ::= "a"`);
      return rules.join("\n");
    }
    default: {
      const rules = [`root ::= ${alternates(rng, 0, n)}`];
      for (let i = 0; i <= n; i++) rules.push(`r${i} ::= ${alternates(rng, 1, n)}`);
      let text = rules.join("\n");
      if (rng.chance(0.2)) {
        const at = rng.int(text.length + 1);
        text = text.slice(0, at) +
          rng.pick(["(", ")", "|", "::=", '"', "[", "\\", "\n", "{", "}"]) +
          text.slice(at);
      }
      return text;
    }
  }
}

/** A JSON schema: generated, or a known attack. */
export function schemaCase(rng: Rng, depth = 0): unknown {
  const kind = rng.int(depth > 4 ? 6 : 12);
  switch (kind) {
    case 0:
      return { type: rng.pick(["string", "integer", "number", "boolean", "null", "bogus"]) };
    case 1:
      return {
        type: "string",
        ...(rng.chance(0.5) &&
          {
            pattern: rng.pick([
              "^[a-z]+$",
              "^[z-a]$",
              "^(a|b)*c$",
              "[",
              "^\\d{3,}$",
              "(((a)))",
              "a{99999}",
            ]),
          }),
        ...(rng.chance(0.5) &&
          { minLength: rng.pick([0, 1, 5, 1e9, -1]), maxLength: rng.pick([0, 3, 1e12]) }),
      };
    case 2:
      return {
        type: rng.pick(["integer", "number"]),
        minimum: rng.pick([-1e308, -5, 0, 1e20, 3]),
        maximum: rng.pick([-3, 0, 10, 1e308, 2 ** 60]),
        ...(rng.chance(0.3) && { exclusiveMinimum: rng.pick([0, 1e15]) }),
      };
    case 3:
      return {
        enum: Array.from(
          { length: rng.pick([1, 3, 50, 5000]) },
          (_, i) => rng.chance(0.5) ? `v${i}` : i,
        ),
      };
    case 4:
      return { const: rng.pick(["x", 1, null, { a: [1, 2] }, "\u0000\ud800"]) };
    case 5:
      return rng.pick([{}, true, false, { $ref: "#" }, { $ref: "#/$defs/missing" }, {
        $ref: "http://example.com/x",
      }]);
    case 6:
      return {
        type: "array",
        items: schemaCase(rng, depth + 1),
        minItems: rng.pick([0, 2, 3000]),
        maxItems: rng.pick([1, 5, 1e6]),
      };
    case 7: {
      // Many properties are plain ones: a generated schema stays small enough to write.
      const count = rng.pick([1, 4, 300, 5000]);
      const props = Object.fromEntries(
        Array.from({ length: count }, (_, i) => [
          `p${i}`,
          count > 10 ? { type: "string" } : schemaCase(rng, depth + 2),
        ]),
      );
      return {
        type: "object",
        properties: props,
        required: rng.chance(0.5) ? Object.keys(props).slice(0, 2) : [],
      };
    }
    case 8:
      return { anyOf: [schemaCase(rng, depth + 1), schemaCase(rng, depth + 1)] };
    case 9:
      return { allOf: [schemaCase(rng, depth + 1), { type: "object" }] };
    case 10:
      return { $defs: { a: { $ref: "#/$defs/b" }, b: { $ref: "#/$defs/a" } }, $ref: "#/$defs/a" };
    default: {
      let nested: unknown = { type: "string" };
      for (let i = 0; i < rng.pick([5, 100, 3000]); i++) nested = { type: "array", items: nested };
      return nested;
    }
  }
}

function fuzzText(
  target: "grammar" | "schema",
  options: FuzzOptions,
  make: (rng: Rng) => string,
  flag: string,
): Promise<FuzzCounts> {
  // Through a file: some cases are larger than a command line may be.
  const write = async (rng: Rng, path: string) => {
    const text = make(rng);
    await Deno.writeTextFile(path, text);
    return `${text.length} characters: ${text.slice(0, 80).replaceAll("\n", "\\n")}`;
  };
  return fuzzFileCases(target, "txt", write, (file) => [...BASE, flag, file], options);
}

/** Runs the `grammar` target. */
export function fuzzGrammar(options: FuzzOptions): Promise<FuzzCounts> {
  return fuzzText("grammar", options, grammarCase, "--grammar-file");
}

/** Runs the `schema` target. */
export function fuzzSchema(options: FuzzOptions): Promise<FuzzCounts> {
  return fuzzText("schema", options, (rng) => JSON.stringify(schemaCase(rng)), "-jf");
}
