/**
 * The tests of llama.cpp's suite that cannot pass here whatever the server does, each with
 * its reason, so the report counts them apart instead of as failures: tests that need a trained
 * model's answers (a stand-in model with random weights or another vocabulary runs them, but
 * cannot give those answers), and tests of llama-server features llamafile does not have.
 * Only a test that fails is counted apart: one of these that passes counts as passed.
 *
 * @module
 */

/** Why a test cannot pass here. */
export interface KnownException {
  kind: "model unavailable" | "not in llamafile";
  reason: string;
}

const RELEVANCE: KnownException = {
  kind: "model unavailable",
  reason: "ranking by relevance needs the trained jina-reranker weights; the stand-in reranker " +
    "has random weights",
};
const JINA_TOKENS: KnownException = {
  kind: "model unavailable",
  reason: "the counts are of jina-reranker's own tokenizer; the stand-in reranker carries BGE's " +
    "WordPiece vocabulary",
};
const ROUTER: KnownException = {
  kind: "not in llamafile",
  reason: "runs llama-server's model router (a server without -m, loading models on demand)",
};
const AGENT: KnownException = {
  kind: "not in llamafile",
  reason: "needs llama-server's built-in agent tools or MCP CORS proxy",
};

/** Test ids (or prefixes: a parametrized test without its `[...]`) and why they cannot pass. */
export const KNOWN_EXCEPTIONS: Readonly<Record<string, KnownException>> = {
  "unit/test_rerank.py::test_rerank": RELEVANCE,
  "unit/test_rerank.py::test_rerank_tei_format": RELEVANCE,
  "unit/test_rerank.py::test_rerank_usage": JINA_TOKENS,
  "unit/test_security.py::test_cors_origins_localhost_reflects": ROUTER,
  "unit/test_security.py::test_cors_origins_localhost_rejects": ROUTER,
  "unit/test_security.py::test_cors_origins_defaults_to_localhost_with_tools_enabled": AGENT,
  "unit/test_security.py::test_cors_proxy_only_forwards_explicit_proxy_headers": AGENT,
  "unit/test_security.py::test_cors_options": {
    kind: "not in llamafile",
    reason: "expects any origin allowed (llama.cpp's default); llamafile allows loopback and " +
      "same-origin pages unless --cors-origins names others, with or without an API key",
  },
  "unit/test_security.py::test_access_static_assets_without_api_key": {
    kind: "not in llamafile",
    reason: "asks for llama-server's web UI files (/sw.js, /manifest.webmanifest, " +
      "/_app/version.json); llamafile's chat page is one self-contained file",
  },
};

/** The known exception of test `id`, if any. */
export function knownException(id: string): KnownException | undefined {
  return KNOWN_EXCEPTIONS[id] ?? KNOWN_EXCEPTIONS[id.replace(/\[.*$/, "")];
}
