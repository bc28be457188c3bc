// docs/hsm.md's table of what a token must offer per CA key type, made from the key type rows
// (shared/key-types.ts) by `npm run gen`: a CA key type added there is documented with the
// mechanisms the signer will ask the token for. Pure text.

import { CA_KEY_TYPES, keyTypeRow } from '../shared/key-types.ts';
import { markdownTable } from '../shared/settings-docs.ts';

export function caKeyTypesMarkdownTable(): string {
  return markdownTable(
    ['CA key type (`ca.keyType`)', 'generated with (`signer init`)', 'signs with'],
    CA_KEY_TYPES.map((t) => {
      const row = keyTypeRow(t);
      const gen =
        row.family === 'EC'
          ? `\`${row.pkcs11.keyGen}\` (curve ${row.curve})`
          : `\`${row.pkcs11.keyGen}\` (${row.bits}-bit modulus)`;
      const sign =
        row.family === 'EC'
          ? `\`${row.pkcs11.sign}\` on a ${row.hash} digest taken here`
          : `\`${row.pkcs11.sign}\` (PKCS#1 v1.5, hashed in the token)`;
      return [`\`${t}\``, gen, sign];
    }),
  );
}
