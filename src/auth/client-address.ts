import { isIPv4, isIPv6 } from "node:net";

/**
 * The bucket a client address counts its failed authentications in. An IPv4 address counts as it
 * is. An IPv6 address counts by its /64 prefix: a host is routinely handed a whole /64 (SLAAC,
 * privacy addresses), so counting single addresses would give one client 2^64 budgets. An
 * IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack socket reports for an IPv4 client)
 * is the IPv4 address it carries, so the two spellings of one client share a budget.
 */
export function addressBucket(address: string): string {
  if (isIPv4(address)) return address;
  // A zone (`fe80::1%eth0`) names our interface, not the client.
  const zoneless = address.includes("%") ? address.slice(0, address.indexOf("%")) : address;
  // Not an address at all (text that a trusted proxy forwarded): count the text itself, bounded.
  if (!isIPv6(zoneless)) return address.slice(0, 64);
  const groups = ipv6Groups(zoneless);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff)
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, with `::` expanded and a dotted IPv4 tail split in two. */
function ipv6Groups(address: string): number[] {
  const parse = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((group) => {
          if (!group.includes(".")) return [Number.parseInt(group, 16)];
          const [a, b, c, d] = group.split(".").map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = address.indexOf("::");
  if (gap === -1) return parse(address);
  const head = parse(address.slice(0, gap));
  const tail = parse(address.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}
