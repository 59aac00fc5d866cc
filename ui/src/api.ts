/** Calls to /api/ui with the session and (for CRM permission checks) the user's own token. */
import { userAccessToken } from './frame';

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
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

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/api/ui${path}`, { method, headers: await headers(), body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) {
    let j: { error?: string; message?: string } = {};
    try {
      j = await res.json();
    } catch {
      /* not json */
    }
    throw new ApiError(res.status, j.error ?? `HTTP_${res.status}`, j.message ?? res.statusText);
  }
  return (await res.json()) as T;
}

/** POST returning a file; saves it through a temporary link. Returns the text too (tests). */
export async function download(path: string, body: unknown, fallbackName: string): Promise<string> {
  const res = await fetch(`/api/ui${path}`, { method: 'POST', headers: await headers(), body: JSON.stringify(body) });
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, res.statusText);
  const blob = await res.blob();
  const cd = res.headers.get('content-disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(cd)?.[1] ?? fallbackName;
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
