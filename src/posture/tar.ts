/**
 * Reads the first regular file out of a tar archive (what GET /containers/{id}/archive returns for
 * one file). Only ustar/pax framing is understood; pax and GNU long-name headers are skipped.
 */

const BLOCK = 512;

function octal(buf: Buffer, start: number, len: number): number | null {
  const text = buf
    .subarray(start, start + len)
    .toString("latin1")
    .replace(/[\0 ]+$/g, "")
    .trim();
  if (!/^[0-7]{1,12}$/.test(text)) return null;
  return Number.parseInt(text, 8);
}

/** The content of the first regular file in `tar`, or null when there is none (or the archive is cut). */
export function firstFileInTar(tar: Buffer): Buffer | null {
  let off = 0;
  while (off + BLOCK <= tar.length) {
    const header = tar.subarray(off, off + BLOCK);
    if (header.every((b) => b === 0)) return null; // end of archive
    const size = octal(header, 124, 12);
    if (size === null) return null;
    const type = String.fromCharCode(header[156] ?? 0);
    const dataStart = off + BLOCK;
    if (type === "0" || type === "\0") {
      if (dataStart + size > tar.length) return null;
      return tar.subarray(dataStart, dataStart + size);
    }
    // Anything else (pax "x"/"g", GNU "L"/"K", links, directories): skip its data.
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  return null;
}
