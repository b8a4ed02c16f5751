// A small strict XML reader for tests (elements, attributes, text; entities decoded), so TwiML is checked as XML
// rather than as strings. It throws on anything malformed: unbalanced tags, bad attributes, unknown entities.
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);|&/g, (whole, ent: string | undefined) => {
    if (ent === undefined) throw new Error('bare & in XML');
    if (ent.startsWith('#x')) return String.fromCodePoint(parseInt(ent.slice(2), 16));
    if (ent.startsWith('#')) return String.fromCodePoint(parseInt(ent.slice(1), 10));
    const ch = ENTITIES[ent];
    if (ch === undefined) throw new Error(`unknown entity ${whole}`);
    return ch;
  });
}

export function parseXml(xml: string): XmlElement {
  let pos = 0;
  const prolog = /^<\?xml[^?]*\?>/.exec(xml);
  if (prolog) pos = prolog[0].length;
  const skipSpace = () => {
    while (pos < xml.length && /\s/.test(xml[pos] as string)) pos++;
  };
  const readElement = (): XmlElement => {
    if (xml[pos] !== '<') throw new Error(`expected < at ${pos}`);
    pos++;
    const nameMatch = /^[A-Za-z_][\w.-]*/.exec(xml.slice(pos));
    if (!nameMatch) throw new Error(`bad tag name at ${pos}`);
    const name = nameMatch[0];
    pos += name.length;
    const attributes: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (xml.startsWith('/>', pos)) {
        pos += 2;
        return { name, attributes, children: [], text: '' };
      }
      if (xml[pos] === '>') {
        pos++;
        break;
      }
      const attr = /^([A-Za-z_][\w.:-]*)="([^"<]*)"/.exec(xml.slice(pos));
      if (!attr) throw new Error(`bad attribute at ${pos}: ${xml.slice(pos, pos + 30)}`);
      const key = attr[1] as string;
      if (key in attributes) throw new Error(`duplicate attribute ${key}`);
      attributes[key] = decode(attr[2] as string);
      pos += attr[0].length;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (pos >= xml.length) throw new Error(`unclosed <${name}>`);
      if (xml.startsWith('</', pos)) {
        const close = `</${name}>`;
        if (!xml.startsWith(close, pos)) throw new Error(`expected ${close} at ${pos}`);
        pos += close.length;
        return { name, attributes, children, text: decode(text) };
      }
      if (xml[pos] === '<') children.push(readElement());
      else {
        const next = xml.indexOf('<', pos);
        text += xml.slice(pos, next === -1 ? xml.length : next);
        pos = next === -1 ? xml.length : next;
      }
    }
  };
  skipSpace();
  const root = readElement();
  skipSpace();
  if (pos !== xml.length) throw new Error('content after the root element');
  return root;
}
