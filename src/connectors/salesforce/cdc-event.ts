// Pure translation of a Pub/Sub API change event (decoded from Avro) into the JSON shape the
// Streaming API and the signed relay carry, so one mapping (`changeEventsToInbound`) serves both.

/** A field of an Avro record schema (the part of the schema JSON this file reads). */
export interface AvroField {
  name: string;
  type: unknown;
}
type Fields = readonly AvroField[];
type Decoded = Record<string, unknown> & { ChangeEventHeader?: Record<string, unknown> };

/** A replay id (opaque bytes) as the stored position: hex keeps the exact bytes. */
export function replayHex(id: Uint8Array): string {
  return Buffer.from(id).toString('hex');
}

/**
 * The replay id as a delivery id: Salesforce's replay ids are 8-byte big-endian counters, the
 * same number the Streaming API (and a relay built on it) reports as `replayId`, so an event seen
 * on both paths has one delivery id and is stored once. Any other length stays hex.
 */
export function replayDeliveryId(id: Uint8Array): string {
  const b = Buffer.from(id);
  return b.length === 8 ? b.readBigUInt64BE(0).toString() : b.toString('hex');
}

/** The record fields of a field whose type is a record or a union with one (compound fields). */
function recordFields(type: unknown): Fields | null {
  const types = Array.isArray(type) ? type : [type];
  for (const t of types)
    if (t && typeof t === 'object' && (t as { type?: string }).type === 'record')
      return (t as { fields: Fields }).fields;
  return null;
}

/**
 * Pub/Sub API headers list fields as bitmaps over the schema's field positions: `0x<hex>` for
 * top-level fields (bit i = field i), `<i>-0x<hex>` for the sub-fields of the compound field at
 * position i (`MailingAddress.City`). Names are what the Streaming API sends.
 */
export function bitmapFieldNames(bitmaps: readonly string[], fields: Fields): string[] {
  const names: string[] = [];
  for (const entry of bitmaps) {
    const nested = /^(\d+)-0x([0-9a-fA-F]+)$/.exec(entry);
    const top = /^0x([0-9a-fA-F]+)$/.exec(entry);
    if (nested) {
      const parent = fields[Number(nested[1])];
      const sub = parent ? recordFields(parent.type) : null;
      if (parent && sub) for (const i of bitsOf(nested[2]!)) if (sub[i]) names.push(`${parent.name}.${sub[i]!.name}`);
    } else if (top) {
      for (const i of bitsOf(top[1]!)) if (fields[i]) names.push(fields[i]!.name);
    } else names.push(entry); // already a name (an older API version or the simulator in plain mode)
  }
  return names;
}

function bitsOf(hex: string): number[] {
  const n = BigInt(`0x${hex}`);
  const out: number[] = [];
  for (let i = 0; n >> BigInt(i) > 0n; i++) if ((n >> BigInt(i)) & 1n) out.push(i);
  return out;
}

/**
 * A decoded Avro change event as the Streaming API's JSON: in Pub/Sub every schema field is
 * present and an unchanged field is null, so an UPDATE keeps only the fields its header lists
 * as changed (compound fields only their changed parts), and a CREATE only its non-null fields.
 * Header field lists become names.
 */
export function toStreamingShape(decoded: Decoded, fields: Fields, replayId: string): Record<string, unknown> {
  const h = { ...(decoded.ChangeEventHeader ?? {}) } as Record<string, unknown>;
  const list = (k: string) => (Array.isArray(h[k]) ? bitmapFieldNames(h[k] as string[], fields) : []);
  const changed = list('changedFields');
  const nulled = list('nulledFields');
  h.changedFields = changed;
  h.nulledFields = nulled;
  h.diffFields = list('diffFields');
  const out: Record<string, unknown> = { replayId, ChangeEventHeader: h };
  const update = String(h.changeType ?? '').endsWith('UPDATE');
  const keep = new Set([...changed, ...nulled]);
  for (const f of fields) {
    if (f.name === 'ChangeEventHeader') continue;
    const v = decoded[f.name];
    if (v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) {
      // A compound field (MailingAddress, Name): its changed parts; without a per-part list
      // (a CREATE, or only the field's own bit), its non-null parts.
      const entries = Object.entries(v as Record<string, unknown>);
      const listed = entries.filter(([k]) => keep.has(`${f.name}.${k}`));
      const parts = update && listed.length ? listed : entries.filter(([, x]) => x !== null && x !== undefined);
      if (parts.length && (!update || listed.length || keep.has(f.name))) out[f.name] = Object.fromEntries(parts);
    } else if (update ? keep.has(f.name) : v !== null && v !== undefined) out[f.name] = v ?? null;
  }
  return out;
}

/** `GAP_CREATE`, `GAP_UPDATE`, ...: Salesforce could not produce the change event itself; `GAP_OVERFLOW`: too many. */
export function gapKind(decoded: Decoded): 'gap' | 'overflow' | null {
  const t = String(decoded.ChangeEventHeader?.changeType ?? '');
  return t === 'GAP_OVERFLOW' ? 'overflow' : t.startsWith('GAP_') ? 'gap' : null;
}
