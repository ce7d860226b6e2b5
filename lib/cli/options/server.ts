/**
 * Server options (llama.cpp's `llama-server` params).
 *
 * @module
 */
import type { OptionSection } from "../option_table.ts";

/** What the server options set. */
export interface ServerCliOptions {
  server: boolean;
  host: string;
  port: number;
  parallel: number;
  apiKey?: string;
  nobrowser: boolean;
  timeout: number;
  corsOrigins: string[];
  embedding: boolean;
  alias?: string;
}

/** The server options. */
export const SERVER_SECTION: OptionSection<ServerCliOptions> = {
  title: "Server",
  defaults: {
    server: false,
    host: "127.0.0.1",
    port: 8080,
    parallel: 1,
    nobrowser: false,
    timeout: 600,
    corsOrigins: [],
    embedding: false,
  },
  specs: [
    {
      names: ["--server"],
      key: "server",
      kind: "flag",
      help: "serve the OpenAI, Anthropic and llama.cpp APIs and the chat page",
    },
    {
      names: ["--host"],
      key: "host",
      kind: "string",
      arg: "ADDR",
      help: "address to listen on",
    },
    {
      names: ["--port"],
      key: "port",
      kind: "int",
      arg: "N",
      min: 0,
      max: 65535,
      help: "port to listen on",
    },
    {
      names: ["-np", "--parallel"],
      key: "parallel",
      kind: "int",
      arg: "N",
      min: 1,
      max: 64,
      help: "parallel slots",
    },
    {
      names: ["--api-key"],
      key: "apiKey",
      kind: "string",
      arg: "KEY",
      help: "require this key (Authorization: Bearer KEY or X-Api-Key)",
    },
    {
      names: ["--nobrowser"],
      key: "nobrowser",
      kind: "flag",
      help: "do not open a browser when the server starts",
    },
    {
      names: ["--timeout", "-to"],
      key: "timeout",
      kind: "int",
      arg: "SECONDS",
      min: 1,
      max: 2_147_483,
      help: "request timeout",
    },
    {
      names: ["--cors-origins"],
      key: "corsOrigins",
      kind: "list",
      arg: "ORIGIN",
      commaList: true,
      help: "allow this origin besides loopback ones (repeatable, comma-separated)",
    },
    {
      names: ["--embedding", "--embeddings"],
      key: "embedding",
      kind: "flag",
      help: "enable /v1/embeddings",
    },
    {
      names: ["-a", "--alias"],
      key: "alias",
      kind: "string",
      arg: "NAME",
      help: "model name reported by /v1/models",
    },
  ],
};
