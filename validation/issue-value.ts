// The CAA issue-value syntax (RFC 8659 §4.2), which a dns-persist-01 TXT record uses
// (draft-ietf-acme-dns-persist-02 §4.1 item 1):
//
//   issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
//   issuer-domain-name = label *("." label)
//   label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))
//   parameters = (parameter *WSP ";" *WSP parameters) / parameter
//   parameter = tag *WSP "=" *WSP value
//   tag = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))
//   value = *(%x21-3A / %x3C-7E)
//
// A value never holds a space or a ";", so the text splits on ";" and each parameter on its first
// "=". Tags are matched case-insensitively (RFC 8659 leaves parameter tags' case open; Boulder,
// Pebble and lego all fold them) and a tag given twice is malformed (draft -02 §9.3.1 "duplicate
// parameters", read strictly as Pebble and lego do). A single trailing ";" with nothing after it is
// grammatical and accepted; an empty parameter between two ";" is not.

/** One issue-value, understood: the issuer (lowercase, no trailing dot) and tag → value (tags lowercase). */
export interface IssueValue {
  issuer: string;
  params: ReadonlyMap<string, string>;
}

export type ParsedIssueValue =
  | { ok: true; value: IssueValue }
  /** `issuer` is set when at least the issuer could be read, so a caller can tell whose record it is */
  | { ok: false; issuer: string | null; error: string };

const WSP = /^[ \t]+|[ \t]+$/g;
const LABEL = '[A-Za-z0-9](?:-*[A-Za-z0-9])*';
const ISSUER_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const PARAM_RE = new RegExp(`^(${LABEL})[ \\t]*=[ \\t]*([\\x21-\\x3A\\x3C-\\x7E]*)$`);

/**
 * A domain name as the CA lists it in issuerDomainNames (draft -02 §3.1): lowercase LDH labels,
 * no trailing dot, at most 253 octets. (Non-ASCII names are given as A-labels, which are LDH.)
 */
export function isIssuerDomainName(name: string): boolean {
  return name.length <= 253 && name === name.toLowerCase() && ISSUER_RE.test(name);
}

const trim = (s: string) => s.replace(WSP, '');

export function parseIssueValue(text: string): ParsedIssueValue {
  const semi = text.indexOf(';');
  const issuerText = trim(semi < 0 ? text : text.slice(0, semi));
  // The draft's normalization (§9.2): case-folded, without a trailing dot.
  const issuer = issuerText.toLowerCase().replace(/\.$/, '');
  if (issuer === '') return { ok: false, issuer: null, error: 'the record names no issuer' };
  if (!ISSUER_RE.test(issuer) || issuer.length > 253) {
    return {
      ok: false,
      issuer: null,
      error: `the issuer ${JSON.stringify(issuerText)} is not a domain name`,
    };
  }
  const params = new Map<string, string>();
  const rest = semi < 0 ? '' : trim(text.slice(semi + 1));
  if (rest === '') return { ok: true, value: { issuer, params } };
  for (const piece of rest.split(';')) {
    const m = PARAM_RE.exec(trim(piece));
    if (!m) {
      const what = trim(piece) === '' ? 'an empty parameter' : `the parameter ${JSON.stringify(trim(piece))}`;
      return { ok: false, issuer, error: `${what} is not tag=value (RFC 8659 §4.2)` };
    }
    const tag = (m[1] ?? '').toLowerCase();
    if (params.has(tag)) return { ok: false, issuer, error: `the parameter ${m[1]} is given twice` };
    params.set(tag, m[2] ?? '');
  }
  return { ok: true, value: { issuer, params } };
}
