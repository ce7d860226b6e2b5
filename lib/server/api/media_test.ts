import assert from "node:assert/strict";
import { ApiError } from "./errors.ts";
import { decodeBase64, imageUrlBytes, MEDIA_MARKER } from "./media.ts";

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 400);
    assert.equal(error.param, "image");
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("MEDIA_MARKER is random for the process, in llama-server's form", () => {
  assert.match(MEDIA_MARKER, /^<__media_[0-9a-f]{24}__>$/);
});

Deno.test("imageUrlBytes() decodes data: URIs and raw base64", () => {
  assert.deepEqual([...imageUrlBytes("data:image/png;base64,AQID", "image")], [1, 2, 3]);
  assert.deepEqual([...imageUrlBytes("DATA:IMAGE/JPEG;BASE64,AQID", "image")], [1, 2, 3]);
  assert.deepEqual([...imageUrlBytes("AQID", "image")], [1, 2, 3]);
  assert.deepEqual([...imageUrlBytes("data:image/png;base64,AQ\nID", "image")], [1, 2, 3]);
});

Deno.test("imageUrlBytes() refuses remote and file URLs: the server has no network", () => {
  refused(() => imageUrlBytes("https://example.com/a.png", "image"), /remote URL.*no network/);
  refused(() => imageUrlBytes("http://127.0.0.1/a.png", "image"), /remote URL/);
  refused(() => imageUrlBytes("file:///etc/passwd", "image"), /file: URL/);
});

Deno.test("imageUrlBytes() refuses data: URIs that are not base64 images", () => {
  refused(
    () => imageUrlBytes("data:image/png,rawtext", "image"),
    /not base64 \(;base64, is missing\)/,
  );
  refused(
    () => imageUrlBytes("data:text/plain;base64,AQID", "image"),
    /"text\/plain": only images/,
  );
  refused(() => imageUrlBytes("data:image/png;base64,@@@", "image"), /^image is not base64 data$/);
  refused(() => imageUrlBytes("data:image/png;base64,", "image"), /not base64 data/);
  refused(() => imageUrlBytes("data:image/png;base64", "image"), /without data/);
});

Deno.test("decodeBase64() refuses more than an image may be before decoding it", () => {
  const big = "A".repeat(40 * 1024 * 1024);
  refused(
    () => decodeBase64(big, "image"),
    /about \d+ bytes of data: the largest image taken is 20971520 bytes/,
  );
});
