/** This program's version. */
export const VERSION = "0.1.0";
/** The llama.cpp release our libllama comes from. */
export const LLAMA_CPP_RELEASE = "v0.5.0";
