// Surrogate-Control and Surrogate-Capability (W3C Edge Architecture Specification 1.0, §2–3).
// A response asks a surrogate to process ESI with the content directive:
//   Surrogate-Control: max-age=300, content="ESI/1.0"
//   Surrogate-Control: content="ESI/1.0 ESI-Inline/1.0";outpost     (targeted at one device)
// A directive may be targeted with `;device-token`; untargeted directives apply to every
// surrogate, targeted ones only to the surrogate with that token. The surrogate advertises what it
// can do to the origin with `Surrogate-Capability: token="Surrogate/1.0 ESI/1.0"`.

export const ESI_CAPABILITY = 'ESI/1.0';

interface Directive {
  name: string;
  /** The value, unquoted; null when the directive has none. */
  value: string | null;
  target: string | null;
  /** The directive as written. */
  raw: string;
}

/** Splits the field on commas outside quotes and reads each directive. */
function directives(field: string): Directive[] {
  const out: Directive[] = [];
  let start = 0;
  let inQuote = false;
  for (let i = 0; i <= field.length; i++) {
    const c = field[i];
    if (c === '"' && field[i - 1] !== '\\') inQuote = !inQuote;
    if (i === field.length || (c === ',' && !inQuote)) {
      const raw = field.slice(start, i).trim();
      start = i + 1;
      if (!raw) continue;
      const m = /^([^=;\s]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?\s*(?:;\s*(.*))?$/.exec(raw);
      if (!m) {
        out.push({ name: raw.toLowerCase(), value: null, target: null, raw });
        continue;
      }
      let value = m[2] === undefined ? null : m[2].trim();
      if (value?.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
      out.push({ name: m[1].toLowerCase(), value, target: m[3]?.trim() || null, raw });
    }
  }
  return out;
}

function appliesTo(d: Directive, deviceToken: string | undefined): boolean {
  return (
    d.target === null || (deviceToken !== undefined && d.target.toLowerCase() === deviceToken.toLowerCase())
  );
}

function isEsiToken(t: string): boolean {
  return t.toUpperCase() === ESI_CAPABILITY;
}

/**
 * Does this Surrogate-Control field ask for ESI processing (content="ESI/1.0"), counting
 * directives targeted at `deviceToken` and untargeted ones?
 */
export function wantsEsi(surrogateControl: string | null | undefined, deviceToken?: string): boolean {
  if (!surrogateControl) return false;
  return directives(surrogateControl).some(
    (d) =>
      d.name === 'content' &&
      d.value !== null &&
      appliesTo(d, deviceToken) &&
      d.value.split(/[\s,]+/).some(isEsiToken),
  );
}

/**
 * The Surrogate-Control field to send on once ESI has been processed here: the ESI/1.0 token taken
 * out of the content directives that applied to this surrogate (a content directive left empty is
 * dropped), everything else as it was. Null when nothing is left, i.e. drop the field.
 */
export function stripEsiContent(
  surrogateControl: string | null | undefined,
  deviceToken?: string,
): string | null {
  if (!surrogateControl) return null;
  const kept: string[] = [];
  for (const d of directives(surrogateControl)) {
    if (d.name !== 'content' || d.value === null || !appliesTo(d, deviceToken)) {
      kept.push(d.raw);
      continue;
    }
    const rest = d.value.split(/[\s,]+/).filter((t) => t !== '' && !isEsiToken(t));
    if (rest.length > 0) {
      kept.push(`content="${rest.join(' ')}"${d.target ? `;${d.target}` : ''}`);
    }
  }
  return kept.length > 0 ? kept.join(', ') : null;
}

/** The Surrogate-Capability value advertising ESI 1.0 for `deviceToken` (default 'outpost'). */
export function surrogateCapability(deviceToken = 'outpost'): string {
  return `${deviceToken}="Surrogate/1.0 ${ESI_CAPABILITY}"`;
}
