// Identifiers for stored objects: 128 random bits, base64url — unguessable, so URLs leak nothing.
import { randomToken } from '../../shared/encoding.ts';

export const newId = (): string => randomToken(16);
