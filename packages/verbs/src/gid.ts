/**
 * GIDs as text: the eight-group form `ibv_devinfo` prints
 * (`0000:0000:0000:0000:0000:ffff:0a09:0001`), which is also valid IPv6.
 * @module
 */

/** Formats a 16-byte GID as eight colon-separated 4-hex-digit groups. */
export function formatGid(raw: Uint8Array): string {
  if (!(raw instanceof Uint8Array) || raw.length !== 16) throw new TypeError('formatGid: gid must be 16 bytes');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((raw[i]! << 8) | raw[i + 1]!).toString(16).padStart(4, '0'));
  return groups.join(':');
}

/**
 * Parses a GID from its eight-group form or any IPv6 text (including `::`
 * compression and a trailing dotted IPv4, e.g. `::ffff:10.9.0.1`).
 */
export function parseGid(text: string): Buffer {
  if (typeof text !== 'string') throw new TypeError('parseGid: gid must be a string');
  let s = text.trim().toLowerCase();
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const b = v4.slice(1).map(Number);
    if (b.some((x) => x > 255)) throw new RangeError(`parseGid: bad IPv4 part in '${text}'`);
    s = s.slice(0, v4.index) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) throw new RangeError(`parseGid: '${text}' is not a GID`);
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) throw new RangeError(`parseGid: '${text}' is not a GID`);
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    if (!/^[0-9a-f]{1,4}$/.test(g)) throw new RangeError(`parseGid: '${text}' is not a GID`);
    out.writeUInt16BE(parseInt(g, 16), i * 2);
  });
  return out;
}
