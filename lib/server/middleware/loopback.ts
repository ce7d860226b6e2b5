/**
 * Host-name helpers shared by the Host and Origin checks.
 *
 * @module
 */

/** The host name of a `Host` header or URL authority, lower-case, IPv6 without brackets; `null` if unparsable. */
export function hostName(authority: string): string | null {
  try {
    const name = new URL(`http://${authority}`).hostname.toLowerCase();
    return name.startsWith("[") ? name.slice(1, -1) : name;
  } catch {
    return null;
  }
}

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and `::1`. */
export function isLoopback(name: string): boolean {
  const host = name.toLowerCase().replace(/^\[|\]$/g, "");
  return host === "localhost" || host.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(host) ||
    host === "::1" || host === "0:0:0:0:0:0:0:1";
}

/** True for a bind address that listens on every interface. */
export function isWildcard(name: string): boolean {
  const host = name.replace(/^\[|\]$/g, "");
  return host === "0.0.0.0" || host === "::" || host === "";
}
