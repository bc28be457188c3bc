// Bounds of an EAB key's settings, apart from the key code so the CLI can check its options
// without loading the edge.

/** Largest maxAccounts a key may carry; above it, say "unlimited" (null). */
export const MAX_ACCOUNTS_LIMIT = 1_000_000;
