// Sessions of the admin web UI. Logging in takes an admin token, checked against the
// admin token store (hashes only). The session cookie carries a random session id and the token;
// it is HttpOnly, SameSite=Strict, Secure on https, scoped to /admin/ui and short-lived, and every
// request checks the token again, so revoking the token ends its sessions at once, on every
// instance, with nothing kept in memory (Workers isolates share nothing).
// CSRF: every form carries HMAC-SHA256(token, "csrf:" + session id), checked on every POST, on top of
// SameSite=Strict and an Origin check. The login form itself is protected by a double-submit
// cookie (a random value in a cookie and in the form), so no one can log a browser into their token.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { b64uEncode, randomToken, timingSafeEqual } from '../../../shared/encoding.ts';
import type { AppEnv } from '../../context.ts';
import type { PublicToken } from '../../storage/admin.ts';
import { adminLogin } from '../login-throttle.ts';

export const UI_PREFIX = '/admin/ui';
const COOKIE = 'edgeca_ui';
const LOGIN_COOKIE = 'edgeca_ui_login';
const SESSION_SECONDS = 8 * 3600;

export interface UiSession {
  token: string;
  sid: string;
  admin: PublicToken;
  csrf: string;
  /** the browser's address: the admin API calls made for this session are throttled under it */
  clientAddress: string;
}

/** Too many failed logins from this address (login form or session cookie): 429, Retry-After. */
export class LoginThrottled extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`too many failed admin logins from this address; retry after ${retryAfterSeconds} s`);
  }
}

const enc = new TextEncoder();

async function hmac(key: string, data: string): Promise<string> {
  const k = await crypto.subtle.importKey('raw', enc.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return b64uEncode(new Uint8Array(await crypto.subtle.sign('HMAC', k, enc.encode(data))));
}

const csrfFor = (token: string, sid: string) => hmac(token, `csrf:${sid}`);

function cookieOptions(c: Context<AppEnv>, maxAge: number) {
  return {
    path: UI_PREFIX,
    httpOnly: true,
    secure: c.var.svc.config.baseUrl.startsWith('https:'),
    sameSite: 'Strict' as const,
    maxAge,
  };
}

/**
 * The session of this request, or undefined (no cookie, malformed, token unknown or revoked). The
 * cookie's token is a login like any other (a client can send any cookie): checked through the admin
 * login throttle, and a wrong one is dropped so a stale cookie is not counted again and again.
 * Throws LoginThrottled while the address is throttled.
 */
export async function currentSession(c: Context<AppEnv>): Promise<UiSession | undefined> {
  const v = getCookie(c, COOKIE);
  const dot = v?.indexOf('.') ?? -1;
  if (!v || dot < 1) return undefined;
  const sid = v.slice(0, dot);
  const token = v.slice(dot + 1);
  const login = await adminLogin(c.var.svc, c.var.clientAddress, token);
  if (!login.ok && login.why === 'throttled') throw new LoginThrottled(login.retryAfterSeconds);
  if (!login.ok) {
    logOut(c);
    return undefined;
  }
  return {
    token,
    sid,
    admin: login.token,
    csrf: await csrfFor(token, sid),
    clientAddress: c.var.clientAddress,
  };
}

/**
 * Starts a session for a valid token; false when the token is unknown or revoked. Throttled like
 * the admin API (login-throttle.ts): throws LoginThrottled once the address has spent its allowance.
 */
export async function logIn(c: Context<AppEnv>, token: string): Promise<boolean> {
  const login = await adminLogin(c.var.svc, c.var.clientAddress, token.trim());
  if (!login.ok && login.why === 'throttled') throw new LoginThrottled(login.retryAfterSeconds);
  if (!login.ok) return false;
  setCookie(c, COOKIE, `${randomToken(16)}.${token.trim()}`, cookieOptions(c, SESSION_SECONDS));
  deleteCookie(c, LOGIN_COOKIE, { path: UI_PREFIX });
  return true;
}

export function logOut(c: Context<AppEnv>): void {
  deleteCookie(c, COOKIE, { path: UI_PREFIX, secure: c.var.svc.config.baseUrl.startsWith('https:') });
}

/** A fresh value for the login form, also set as a cookie (double submit). */
export function loginNonce(c: Context<AppEnv>): string {
  const v = randomToken(16);
  setCookie(c, LOGIN_COOKIE, v, cookieOptions(c, 600));
  return v;
}

export function loginNonceOk(c: Context<AppEnv>, formValue: string): boolean {
  const v = getCookie(c, LOGIN_COOKIE);
  return !!v && v.length === formValue.length && timingSafeEqual(enc.encode(v), enc.encode(formValue));
}

/** A POST is ours when its Origin (if sent) is the edge's and its CSRF field matches the session. */
export function postAllowed(c: Context<AppEnv>, s: UiSession | undefined, formCsrf: string): boolean {
  const origin = c.req.header('origin');
  if (origin && origin !== 'null' && origin !== new URL(c.var.svc.config.baseUrl).origin) return false;
  if (!s) return true; // the login form: checked by loginNonceOk
  return formCsrf.length === s.csrf.length && timingSafeEqual(enc.encode(formCsrf), enc.encode(s.csrf));
}
