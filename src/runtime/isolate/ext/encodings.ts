/**
 * TextDecoder's encodings besides UTF-8 (https://encoding.spec.whatwg.org/): UTF-16LE, UTF-16BE
 * and windows-1252 (which WHATWG also gives the labels latin1, iso-8859-1, ascii…). An extension:
 * every isolate holds the prelude, and few workers decode anything but UTF-8; a TextDecoder made
 * with one of these labels loads it (isolate/encoding.ts). Other legacy encodings (the
 * ISO-8859 family, GBK, Shift_JIS…) are not provided and say so.
 */

const UTF16LE_LABELS = [
  'csunicode',
  'iso-10646-ucs-2',
  'ucs-2',
  'unicode',
  'unicodefeff',
  'utf-16',
  'utf-16le',
];
const UTF16BE_LABELS = ['unicodefffe', 'utf-16be'];
const WINDOWS_1252_LABELS = [
  'ansi_x3.4-1968',
  'ascii',
  'cp1252',
  'cp819',
  'csisolatin1',
  'ibm819',
  'iso-8859-1',
  'iso-ir-100',
  'iso8859-1',
  'iso88591',
  'iso_8859-1',
  'iso_8859-1:1987',
  'l1',
  'latin1',
  'us-ascii',
  'windows-1252',
  'x-cp1252',
];

/** windows-1252's bytes 0x80–0x9F (WHATWG's index); 0xA0–0xFF are their own code points. */
const WINDOWS_1252_HIGH = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152,
  0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122,
  0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
];

/** Code units String.fromCharCode gets at once. */
const CHUNK = 8192;
const fromCharCode = String.fromCharCode;
const { apply } = Reflect;

function text(units: number[]): string {
  if (units.length <= CHUNK) return apply(fromCharCode, null, units) as string;
  let out = '';
  for (let at = 0; at < units.length; at += CHUNK) {
    const part: number[] = [];
    for (let i = at; i < units.length && i < at + CHUNK; i++) part[part.length] = units[i];
    out += apply(fromCharCode, null, part) as string;
  }
  return out;
}

export interface LegacyDecoder {
  decode(bytes: Uint8Array, stream: boolean): string;
}

class Windows1252 implements LegacyDecoder {
  decode(bytes: Uint8Array): string {
    const units: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      units.push(b < 0x80 || b >= 0xa0 ? b : WINDOWS_1252_HIGH[b - 0x80]);
    }
    return text(units);
  }
}

/** WHATWG's UTF-16 decoder (§14.2.1), its state kept across streaming calls. */
class Utf16 implements LegacyDecoder {
  #lead: number | null = null;
  #surrogate: number | null = null;
  #start = true;

  constructor(
    private readonly bigEndian: boolean,
    private readonly fatal: boolean,
    private readonly ignoreBOM: boolean,
  ) {}

  #error(units: number[]): void {
    if (this.fatal) {
      this.#lead = null;
      this.#surrogate = null;
      this.#start = true;
      throw new TypeError(
        `The encoded data was not valid for encoding utf-16${this.bigEndian ? 'be' : 'le'}`,
      );
    }
    this.#start = false; // a U+FFFD first: a byte order mark after it is text
    units.push(0xfffd);
  }

  #unit(units: number[], unit: number): void {
    if (this.#start) {
      this.#start = false;
      if (unit === 0xfeff && !this.ignoreBOM) return; // the byte order mark
    }
    units.push(unit);
  }

  decode(bytes: Uint8Array, stream: boolean): string {
    const units: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.#lead === null) {
        this.#lead = b;
        continue;
      }
      const unit = this.bigEndian ? (this.#lead << 8) | b : (b << 8) | this.#lead;
      this.#lead = null;
      if (this.#surrogate !== null) {
        const lead = this.#surrogate;
        this.#surrogate = null;
        if (unit >= 0xdc00 && unit <= 0xdfff) {
          this.#unit(units, lead);
          units.push(unit);
          continue;
        }
        // The lead surrogate was alone: an error, and this unit is read on its own.
        this.#error(units);
      }
      if (unit >= 0xd800 && unit <= 0xdbff) this.#surrogate = unit;
      else if (unit >= 0xdc00 && unit <= 0xdfff) this.#error(units);
      else this.#unit(units, unit);
    }
    if (!stream) {
      if (this.#lead !== null || this.#surrogate !== null) {
        this.#lead = null;
        this.#surrogate = null;
        this.#error(units);
      }
      this.#start = true;
    }
    return text(units);
  }
}

/**
 * The decoder for `label` (already trimmed and lower-cased) and its encoding's name, or null
 * when Outpost does not provide it.
 */
export function legacyDecoder(
  label: string,
  fatal: boolean,
  ignoreBOM: boolean,
): { encoding: string; decoder: LegacyDecoder } | null {
  if (UTF16LE_LABELS.includes(label))
    return { encoding: 'utf-16le', decoder: new Utf16(false, fatal, ignoreBOM) };
  if (UTF16BE_LABELS.includes(label))
    return { encoding: 'utf-16be', decoder: new Utf16(true, fatal, ignoreBOM) };
  if (WINDOWS_1252_LABELS.includes(label)) return { encoding: 'windows-1252', decoder: new Windows1252() };
  return null;
}
