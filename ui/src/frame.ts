/**
 * B24Frame (the real postMessage protocol with the portal page) plus helpers: fit the frame to
 * the content, open CRM paths in the slider, set the title, and the user's current access token.
 */
import { initializeB24Frame, type B24Frame } from '@bitrix24/b24jssdk';

let frame: B24Frame | null = null;
let ready: Promise<B24Frame | null> | null = null;

export function initFrame(timeoutMs = 8000): Promise<B24Frame | null> {
  if (ready) return ready;
  const inFrame = window.parent !== window && window.name.includes('|');
  if (!inFrame) return (ready = Promise.resolve(null));
  ready = Promise.race([
    initializeB24Frame().then((f) => (frame = f)),
    new Promise<null>((r) => setTimeout(() => r(null), timeoutMs)),
  ]).catch((err) => {
    console.error('B24Frame init failed', err);
    return null;
  });
  return ready;
}

export function b24(): B24Frame | null {
  return frame;
}

/** The user's current access token (refreshed by the SDK), for X-B24-Auth. */
export async function userAccessToken(): Promise<string | null> {
  const f = frame;
  if (!f) return null;
  const a = f.auth.getAuthData();
  if (a && a.access_token) return a.access_token;
  try {
    const r = await f.auth.refreshAuth();
    return r?.access_token ?? null;
  } catch {
    return null;
  }
}

/** The portal and the user's current token as the frame knows them (for session renewal). */
export async function frameAuth(): Promise<{ memberId: string; accessToken: string } | null> {
  const f = frame;
  if (!f) return null;
  try {
    const a = f.auth.getAuthData() || (await f.auth.refreshAuth());
    return a && a.access_token && a.member_id ? { memberId: a.member_id, accessToken: a.access_token } : null;
  } catch {
    return null;
  }
}

let lastH = 0;
let pending = false;
/** Resize the iframe to the document height (debounced to one per frame). */
export function fit(): void {
  if (!frame || pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    const root = document.getElementById('app');
    const h = Math.max(Math.ceil(root?.getBoundingClientRect().height ?? 0) + 8, 360);
    if (Math.abs(h - lastH) < 2) return;
    lastH = h;
    // fitWindow() would send document.scrollHeight, which never shrinks below the current frame
    // height; send the content height with width 100% instead (same resizeWindow command).
    const raw = (frame as unknown as { parent: { message?: { send(cmd: string, p: object): Promise<unknown> } } }).parent.message;
    if (raw) void raw.send('resizeWindow', { width: '100%', height: h, isSafely: true });
    else void frame!.parent.fitWindow();
  });
}

export function watchSize(): void {
  const ro = new ResizeObserver(() => fit());
  ro.observe(document.body);
  fit();
}

export async function openContact(id: number): Promise<void> {
  const path = `/crm/contact/details/${id}/`;
  if (frame) {
    await frame.slider.openPath(frame.slider.getUrl(path));
  } else {
    window.open(path, '_blank', 'noopener');
  }
}

/**
 * Opens the contact's segment card (what our CRM tab shows) in a slider over the list: the app
 * itself (BX24.openApplication, https://apidocs.bitrix24.com/sdk/bx24-js-sdk/additional-functions/bx24-open-application.html)
 * with PLACEMENT_OPTIONS {contactId}. (Bitrix24 names a REST tab of the CRM card "tab_rest_<handler
 * id>" and opens it with ?active_tab=, but REST does not give an app its handler id: placement.get
 * has none, so openPath cannot land on our tab.) The card has a button to the CRM card itself.
 */
/**
 * A portal path (a CRM card or list) in a slider inside Bitrix24 (BX24.openPath,
 * https://apidocs.bitrix24.com/sdk/bx24-js-sdk/additional-functions/bx24-open-path.html); outside a frame, a new tab.
 */
export async function openCrmPath(path: string): Promise<void> {
  if (frame) await frame.slider.openPath(frame.slider.getUrl(path));
  else window.open(path, '_blank', 'noopener');
}

/** The company's CRM card (B2B), in a slider inside Bitrix24. */
export async function openCompany(id: number): Promise<void> {
  const path = `/crm/company/details/${id}/`;
  if (frame) await frame.slider.openPath(frame.slider.getUrl(path));
  else window.open(path, '_blank', 'noopener');
}

/** The company's card of the app (labels and contacts), in a slider inside Bitrix24. */
export async function openCompanyCard(id: number, name: string): Promise<void> {
  if (frame) await frame.slider.openSliderAppPage({ companyId: String(id), bx24_title: name || `#${id}`, bx24_width: 1100 });
  else location.hash = `#/company/${id}`;
}

export async function openContactCard(id: number, name: string): Promise<void> {
  if (frame) {
    await frame.slider.openSliderAppPage({ contactId: String(id), bx24_title: name || `#${id}`, bx24_width: 1100 });
  } else {
    location.hash = `#/contact/${id}`;
  }
}

export function setTitle(t: string): void {
  void frame?.parent.setTitle(t);
}
