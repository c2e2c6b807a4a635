/**
 * Direction-free hash of a 5-tuple: hash(a→b) === hash(b→a), so one bucket lookup finds a flow
 * from either side's packets. Integer math only (Math.imul), no allocation.
 */
export function endpointHash(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = Math.imul(w3 ^ 0x9e3779b9, 0x85ebca6b);
  h ^= Math.imul(w2 ^ (h >>> 13), 0xc2b2ae35);
  h ^= Math.imul(w1 ^ (h >>> 16), 0x27d4eb2f);
  h ^= Math.imul(w0 ^ (h >>> 15), 0x165667b1);
  h = Math.imul(h ^ port ^ (h >>> 15), 0x2c1b3c6d);
  return h ^ (h >>> 13);
}

export function flowHash(
  src: Uint32Array,
  srcPort: number,
  dst: Uint32Array,
  dstPort: number,
  proto: number,
): number {
  const hs = endpointHash(src[0]!, src[1]!, src[2]!, src[3]!, srcPort);
  const hd = endpointHash(dst[0]!, dst[1]!, dst[2]!, dst[3]!, dstPort);
  return (hs + hd + proto) | 0;
}
