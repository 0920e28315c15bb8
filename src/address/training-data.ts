import { readFileSync } from 'node:fs';
import { tokenizeForTagger } from './features.ts';

/** One labelled address of a usaddress XML file: its text and a tag per tagger token. */
export interface LabelledAddress {
  text: string;
  tokens: string[];
  tags: string[];
}

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescape = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => XML_ENTITIES[e]!);

/**
 * Reads an `<AddressCollection>` of `<AddressString>`s whose tokens are wrapped in their tags.
 * Each element's text is split with the tagger's tokenizer and every piece gets the element's tag.
 */
export function readLabelledXml(path: string | URL): LabelledAddress[] {
  const xml = readFileSync(path, 'utf8');
  return [...xml.matchAll(/<AddressString>([\s\S]*?)<\/AddressString>/g)].map((m) => {
    const tokens: string[] = [];
    const tags: string[] = [];
    for (const [, tag, value] of m[1]!.matchAll(/<(\w+)>([\s\S]*?)<\/\1>/g)) {
      for (const token of tokenizeForTagger(unescape(value!))) {
        tokens.push(token);
        tags.push(tag!);
      }
    }
    const text = unescape(m[1]!.replace(/<[^>]+>/g, ''))
      .replace(/\s+/g, ' ')
      .trim();
    return { text, tokens, tags };
  });
}

/** The comparison form of an address string for the train/test overlap check. */
export function overlapKey(text: string): string {
  return text
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, ' ')
    .trim();
}
