/**
 * Calls to /api/ui with the session and (for CRM permission checks) the user's own token.
 * The page's session lives an hour; a call answered 401 NO_SESSION renews it once with the
 * frame's current user token (POST /api/ui/session, verified with the portal) and is retried.
 */
import { frameAuth, userAccessToken } from './frame';

export class ApiError extends Error {
  /** the answer's other fields (e.g. issues of invalid settings, the view a name belongs to) */
  readonly body: Record<string, unknown>;
  constructor(public status: number, public code: string, message: string, body: Record<string, unknown> = {}) {
    super(message);
    this.body = body;
  }
  get issues(): unknown[] {
    return Array.isArray(this.body.issues) ? this.body.issues : [];
  }
}

function boot() {
  return window.__SEG_BOOT;
}

async function headers(): Promise<Record<string, string>> {
  const h: Record<string, string> = { 'Content-Type': 'application/json' };
  const b = boot();
  if (b) h.Authorization = `Bearer ${b.session}`;
  const tok = await userAccessToken();
  if (tok) h['X-B24-Auth'] = tok;
  return h;
}

let renewing: Promise<boolean> | null = null;

/** One renewal at a time for all callers; false when the frame or the portal cannot renew. */
function renewSession(): Promise<boolean> {
  renewing ??= (async () => {
    const a = await frameAuth();
    const b = boot();
    if (!a || !b) return false;
    const res = await fetch('/api/ui/session', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ member_id: a.memberId, auth_id: a.accessToken, lang: b.lang }),
    });
    if (!res.ok) return false;
    const j = (await res.json()) as { session: string; isAdmin: boolean; userId: number };
    b.session = j.session;
    b.isAdmin = j.isAdmin;
    b.userId = j.userId;
    return true;
  })().catch(() => false).finally(() => { setTimeout(() => { renewing = null; }, 0); });
  return renewing;
}

/** fetch with the session; a 401 NO_SESSION renews the session once and retries. */
async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const init = async (): Promise<RequestInit> => ({ method, headers: await headers(), body: body === undefined ? undefined : JSON.stringify(body) });
  const res = await fetch(`/api/ui${path}`, await init());
  if (res.status !== 401) return res;
  const code = await res.clone().json().then((j: { error?: string }) => j.error, () => undefined);
  if (code !== 'NO_SESSION' || !(await renewSession())) return res;
  return fetch(`/api/ui${path}`, await init());
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body);
  if (!res.ok) {
    let j: { error?: string; message?: string } & Record<string, unknown> = {};
    try {
      j = await res.json();
    } catch {
      /* not json */
    }
    throw new ApiError(res.status, j.error ?? `HTTP_${res.status}`, j.message ?? res.statusText, j);
  }
  return (await res.json()) as T;
}

/** The name of the last downloaded file (tests read it). */
export let lastDownloadName = '';

/** POST (or GET, without a body) returning a file; saves it through a temporary link. Returns the text too (tests). */
export async function download(path: string, body: unknown, fallbackName: string, method: 'POST' | 'GET' = 'POST'): Promise<string> {
  const res = await send(method, path, method === 'GET' ? undefined : body);
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, res.statusText);
  const blob = await res.blob();
  const cd = res.headers.get('content-disposition') ?? '';
  const utf8 = /filename\*=UTF-8''([^;]+)/i.exec(cd)?.[1];
  const name = (utf8 ? decodeURIComponent(utf8) : /filename="([^"]+)"/.exec(cd)?.[1]) ?? fallbackName;
  lastDownloadName = name;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
  return blob.text();
}
