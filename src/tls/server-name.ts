// Server-name globs for SNI certificate selection (`listeners[].tls.sni[].names`). Matching is
// case-insensitive; `*` stands for any run of characters inside one DNS label and `?` for one
// character, as with certificate wildcards: `*.orders.example.com` matches `eu.orders.example.com`
// but neither `orders.example.com` nor `a.b.orders.example.com` (a client would reject the
// certificate for those names anyway). Also the host helpers the backend leg needs.
import { isIP } from 'node:net';

export type NameMatcher = (serverName: string) => boolean;

export function compileNameGlob(glob: string): NameMatcher {
  const lower = glob.toLowerCase();
  if (!/[*?]/.test(lower)) return (n) => n.toLowerCase() === lower;
  const body = lower
    .split('')
    .map((ch) => (ch === '*' ? '[^.]*' : ch === '?' ? '[^.]' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  const re = new RegExp(`^${body}$`);
  return (n) => re.test(n.toLowerCase());
}

/** Strips IPv6 brackets ("[::1]" → "::1"). */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export function isIpLiteral(host: string): boolean {
  return isIP(bareHost(host)) !== 0;
}
