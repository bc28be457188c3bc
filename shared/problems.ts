// Every ACME error type (RFC 8555 §6.7, RFC 9773, draft-ietf-acme-profiles) with the HTTP
// status it is served with, and the typed error that code throws. One onError renders it.

export const ACME_ERROR_PREFIX = 'urn:ietf:params:acme:error:';

export const PROBLEM_STATUS = {
  accountDoesNotExist: 400,
  alreadyReplaced: 409,
  alreadyRevoked: 400,
  badCSR: 400,
  badNonce: 400,
  badPublicKey: 400,
  badRevocationReason: 400,
  badSignatureAlgorithm: 400,
  caa: 403,
  compound: 403,
  connection: 400,
  dns: 400,
  externalAccountRequired: 400,
  incorrectResponse: 400,
  invalidContact: 400,
  invalidProfile: 400,
  malformed: 400,
  orderNotReady: 403,
  rateLimited: 429,
  rejectedIdentifier: 400,
  serverInternal: 500,
  tls: 400,
  unauthorized: 403,
  unsupportedContact: 400,
  unsupportedIdentifier: 400,
  userActionRequired: 403,
  notFound: 404,
  methodNotAllowed: 405,
  unsupportedMediaType: 415,
  payloadTooLarge: 413,
  serviceUnavailable: 503,
} as const;

export type ProblemKind = keyof typeof PROBLEM_STATUS;

/** Kinds that are not ACME error types: served as `about:blank`-style edgeca types. */
const NON_ACME: ReadonlySet<ProblemKind> = new Set([
  'notFound',
  'methodNotAllowed',
  'unsupportedMediaType',
  'payloadTooLarge',
  'serviceUnavailable',
]);

export interface Identifier {
  type: 'dns' | 'ip';
  value: string;
}

export interface ProblemDocument {
  type: string;
  title?: string;
  detail: string;
  status: number;
  identifier?: Identifier;
  subproblems?: ProblemDocument[];
  algorithms?: string[];
  instance?: string;
}

export function problemType(kind: ProblemKind): string {
  // 404/405/415/413/503 have no ACME type; RFC 8555 still wants a problem document. Malformed
  // is the closest ACME type for 404/405/415/413 on the wire; 503 maps to serverInternal.
  if (NON_ACME.has(kind)) {
    return kind === 'serviceUnavailable'
      ? `${ACME_ERROR_PREFIX}serverInternal`
      : `${ACME_ERROR_PREFIX}malformed`;
  }
  return ACME_ERROR_PREFIX + kind;
}

export class AcmeProblem extends Error {
  readonly kind: ProblemKind;
  readonly status: number;
  readonly identifier?: Identifier;
  readonly subproblems: AcmeProblem[];
  readonly algorithms?: string[];
  /** Seconds; rendered as Retry-After (rateLimited, serviceUnavailable). */
  readonly retryAfter?: number;

  constructor(
    kind: ProblemKind,
    detail: string,
    opts: {
      identifier?: Identifier;
      subproblems?: AcmeProblem[];
      algorithms?: string[];
      retryAfter?: number;
      status?: number;
    } = {},
  ) {
    super(detail);
    this.name = 'AcmeProblem';
    this.kind = kind;
    this.status = opts.status ?? PROBLEM_STATUS[kind];
    this.subproblems = opts.subproblems ?? [];
    if (opts.identifier) this.identifier = opts.identifier;
    if (opts.algorithms) this.algorithms = opts.algorithms;
    if (opts.retryAfter !== undefined) this.retryAfter = opts.retryAfter;
  }

  get type(): string {
    return problemType(this.kind);
  }

  toJSON(): ProblemDocument {
    const doc: ProblemDocument = { type: this.type, detail: this.message, status: this.status };
    if (this.identifier) doc.identifier = this.identifier;
    if (this.subproblems.length > 0) doc.subproblems = this.subproblems.map((p) => p.toSubproblem());
    if (this.algorithms) doc.algorithms = this.algorithms;
    return doc;
  }

  /** RFC 8555 §6.7.1: subproblems carry type, detail and identifier (status is optional). */
  toSubproblem(): ProblemDocument {
    return this.toJSON();
  }

  /** One problem for several identifiers: a single one is returned as is, more become `compound`-less
   * problems of the first's kind with subproblems (RFC 8555 §6.7.1). */
  static combine(problems: AcmeProblem[], kind: ProblemKind, detail: string): AcmeProblem {
    if (problems.length === 1 && problems[0]) return problems[0];
    return new AcmeProblem(kind, detail, { subproblems: problems });
  }

  static fromDocument(doc: ProblemDocument): AcmeProblem {
    const kind = kindOfType(doc.type) ?? 'serverInternal';
    const opts: ConstructorParameters<typeof AcmeProblem>[2] = { status: doc.status };
    if (doc.identifier) opts.identifier = doc.identifier;
    if (doc.subproblems) opts.subproblems = doc.subproblems.map((s) => AcmeProblem.fromDocument(s));
    return new AcmeProblem(kind, doc.detail, opts);
  }
}

export function kindOfType(type: unknown): ProblemKind | undefined {
  if (typeof type !== 'string' || !type.startsWith(ACME_ERROR_PREFIX)) return undefined;
  const k = type.slice(ACME_ERROR_PREFIX.length);
  return Object.hasOwn(PROBLEM_STATUS, k) ? (k as ProblemKind) : undefined;
}

export function isProblemDocument(x: unknown): x is ProblemDocument {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as ProblemDocument).type === 'string' &&
    typeof (x as ProblemDocument).detail === 'string'
  );
}
