// Counts MQTT PUBLISH packets in a byte stream from a tablet, from the fixed header alone (packet
// type, remaining length), so the page server's MQTT proxy can hold one officer to a publish rate
// without parsing (or trusting) the packets' contents. Any protocol version: the fixed header is
// the same in MQTT 3.1.1 and 5. Packets may be split across WebSocket messages, or several share one.
const PUBLISH = 3;

export class PublishCounter {
  /** Bytes of the current packet still to pass (its variable header and payload). */
  private skip = 0;
  /** The fixed header read so far: the type byte, then the remaining length (1-4 bytes, base 128). */
  private head: number[] = [];

  /** PUBLISH packets whose fixed header completes in `b`. Throws on a remaining length over 4 bytes. */
  feed(b: Buffer): number {
    let n = 0;
    let i = 0;
    while (i < b.length) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, b.length - i);
        this.skip -= k;
        i += k;
        continue;
      }
      this.head.push(b[i++]!);
      if (this.head.length < 2) continue;
      if (this.head[this.head.length - 1]! & 0x80) {
        if (this.head.length >= 5) throw new Error('malformed MQTT remaining length');
        continue;
      }
      let len = 0;
      for (let j = this.head.length - 1; j >= 1; j--) len = len * 128 + (this.head[j]! & 0x7f);
      if (this.head[0]! >> 4 === PUBLISH) n++;
      this.head = [];
      this.skip = len;
    }
    return n;
  }
}
