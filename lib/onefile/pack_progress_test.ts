// deno-lint-ignore-file no-control-regex
import assert from "node:assert/strict";
import { PackProgress } from "./pack_progress.ts";
import type { ZipEntry } from "./zip_reader.ts";

const entry = (name: string, size: number) =>
  ({ name, size, compressedSize: size, method: 0, dataOffset: 65536 }) as unknown as ZipEntry;

Deno.test("PackProgress draws a bar in place on a terminal, through a large entry", () => {
  const drawn: string[] = [];
  const lines: string[] = [];
  const progress = new PackProgress(
    3_000_000_000,
    true,
    (l) => lines.push(l),
    (t) => drawn.push(t),
  );
  const weights = progress.entry("model.gguf");
  weights(1_500_000_000, 3_000_000_000);
  progress.added(entry("model.gguf", 3_000_000_000));
  weights(3_000_000_000, 3_000_000_000);
  progress.finish();
  assert.deepEqual(lines, [], "no per-entry lines under a bar");
  assert.match(drawn[0]!, /^\r\x1b\[2K\[#{15}-{15}\] {2}50% 1\.5 GB \/ 3\.0 GB {2}model\.gguf$/);
  assert.match(drawn[1]!, /\[#{30}\] 100% 3\.0 GB \/ 3\.0 GB/);
  assert.equal(drawn.at(-1), "\r\x1b[2K", "the bar is cleared at the end");
});

Deno.test("PackProgress writes one line per entry when not on a terminal", () => {
  const drawn: string[] = [];
  const lines: string[] = [];
  const progress = new PackProgress(100, false, (l) => lines.push(l), (t) => drawn.push(t));
  progress.entry("a.gguf")(50, 100);
  progress.added(entry("a.gguf", 100));
  progress.finish();
  assert.deepEqual(drawn, []);
  assert.deepEqual(lines, ["llamafile pack: a.gguf (100 B, stored at offset 65536)"]);
});
