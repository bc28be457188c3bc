// Every URL the edge hands out is built here (smallstep's linker), from the configured base URL —
// never from the request's Host header, which a client controls.

export const PATHS = {
  directory: '/directory',
  newNonce: '/acme/new-nonce',
  newAccount: '/acme/new-account',
  newOrder: '/acme/new-order',
  newAuthz: '/acme/new-authz',
  revokeCert: '/acme/revoke-cert',
  keyChange: '/acme/key-change',
  account: '/acme/acct/:id',
  accountOrders: '/acme/acct/:id/orders',
  order: '/acme/order/:id',
  finalize: '/acme/order/:id/finalize',
  authz: '/acme/authz/:id',
  challenge: '/acme/chall/:id',
  certificate: '/acme/cert/:id',
  renewalInfo: '/acme/renewal-info',
  crl: '/crl',
  issuerCrl: '/crl/:issuer',
} as const;

export class Linker {
  constructor(readonly base: string) {}
  private p(path: string, id?: string): string {
    return this.base + (id === undefined ? path : path.replace(':id', encodeURIComponent(id)));
  }
  directory = () => this.p(PATHS.directory);
  newNonce = () => this.p(PATHS.newNonce);
  newAccount = () => this.p(PATHS.newAccount);
  newOrder = () => this.p(PATHS.newOrder);
  revokeCert = () => this.p(PATHS.revokeCert);
  keyChange = () => this.p(PATHS.keyChange);
  renewalInfo = () => this.p(PATHS.renewalInfo);
  crl = () => this.p(PATHS.crl);
  account = (id: string) => this.p(PATHS.account, id);
  accountOrders = (id: string) => this.p(PATHS.accountOrders, id);
  order = (id: string) => this.p(PATHS.order, id);
  finalize = (id: string) => this.p(PATHS.finalize, id);
  authz = (id: string) => this.p(PATHS.authz, id);
  challenge = (id: string) => this.p(PATHS.challenge, id);
  certificate = (id: string) => this.p(PATHS.certificate, id);
  /** the URL a request was addressed to, as the client must have signed it (RFC 8555 §6.4) */
  requestUrl = (pathname: string, search = '') => this.base + pathname + search;
  /** the account id in a `kid` URL, or undefined when it is not one of ours */
  accountIdFromKid(kid: string): string | undefined {
    const prefix = this.p('/acme/acct/');
    if (!kid.startsWith(prefix)) return undefined;
    const id = kid.slice(prefix.length);
    return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : undefined;
  }
}
