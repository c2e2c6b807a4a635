import { wordsToIp } from "../net/ip-format.js";

/** Addresses remembered; past it the memo starts again empty (a scan of many hosts stays bounded). */
const MAX_REMEMBERED = 16_384;

/**
 * Address text for new flows: an IPv4 address seen before gets the same string again, so 100k flows
 * between a few hosts share a few strings instead of holding two each (and build none). IPv6 text is
 * built every time (rarer, and its key would cost as much as the text).
 */
export class AddressText {
  private readonly v4 = new Map<number, string>();

  of(words: Uint32Array, version: number): string {
    if (version !== 4) return wordsToIp(words, version);
    // Signed, so the key is a small integer, not a boxed number.
    const w = words[3]! | 0;
    let text = this.v4.get(w);
    if (text === undefined) {
      text = wordsToIp(words, 4);
      if (this.v4.size >= MAX_REMEMBERED) this.v4.clear();
      this.v4.set(w, text);
    }
    return text;
  }
}
