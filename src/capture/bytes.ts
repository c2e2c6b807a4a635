/**
 * Unsigned integers read from a Buffer by byte arithmetic. Buffer.readUInt16BE / readUInt32LE
 * check their arguments on every call; the decoder and the pcap reader check lengths once
 * themselves, then read several fields, so the hot path uses these instead.
 * The caller guarantees o..o+width-1 is inside the buffer.
 */

export function be16(b: Buffer, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function be32(b: Buffer, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function le16(b: Buffer, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function le32(b: Buffer, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
