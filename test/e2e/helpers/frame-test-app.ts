/**
 * A tiny Bitrix24 app for browser tests: every page (main `/app`, installer `/install`,
 * placement handler `/tab`) accepts POST like a real app URL (https://apidocs.bitrix24.com/settings/oauth/simple-way.html), records the
 * query + form body it was opened with, loads the official SDK's UMD build (global `B24Js`),
 * runs `B24Js.initializeB24Frame()`, shows the init data, calls `profile` through the SDK and
 * sends `setTitle` / `resizeWindow`. Tests drive further commands with `frame.evaluate` on
 * `window.__b24` (the real B24Frame).
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

export interface TestApp {
  url: string;
  origin: string;
  /** Every page load: path, query and form body. */
  hits: Array<{ path: string; method: string; query: Record<string, unknown>; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
const sdkPath = require.resolve('@bitrix24/b24jssdk').replace(/dist[\\/](cjs|esm)[\\/].*$/, 'dist/umd/index.min.js');

function html(kind: string, post: unknown): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Test app ${kind}</title>
<style>body{font:14px/1.4 Arial,sans-serif;margin:16px;color:#223}h2{margin:0 0 8px;color:#2067b0}
dt{float:left;width:140px;color:#789}dd{margin:0 0 4px 150px}#status{padding:6px 10px;background:#eefaff;border-radius:4px}</style>
<script>window.__post = ${JSON.stringify(post).replace(/</g, '\\u003c')};</script>
<script src="/sdk.js"></script></head><body>
<h2>Segments test app — ${kind}</h2>
<div id="status">starting…</div>
<dl id="info"></dl>
<script>
(function () {
  var out = window.__app = { kind: ${JSON.stringify(kind)} };
  function show() {
    var dl = document.getElementById('info');
    dl.innerHTML = '';
    ['memberId', 'lang', 'placement', 'options', 'install', 'isAdmin', 'profileName', 'error'].forEach(function (k) {
      if (out[k] === undefined) return;
      var dt = document.createElement('dt'); dt.textContent = k;
      var dd = document.createElement('dd'); dd.id = 'v-' + k;
      dd.textContent = typeof out[k] === 'object' ? JSON.stringify(out[k]) : String(out[k]);
      dl.appendChild(dt); dl.appendChild(dd);
    });
    document.getElementById('status').textContent = out.error ? 'error' : out.done ? 'ready' : 'working…';
  }
  (async function () {
    try {
      var b24 = await B24Js.initializeB24Frame();
      window.__b24 = b24;
      out.memberId = b24.auth.getAuthData().member_id;
      out.lang = b24.getLang();
      out.placement = b24.placement.placement;
      out.options = b24.placement.options;
      out.install = b24.isInstallMode;
      out.isAdmin = b24.auth.isAdmin;
      show();
      var r = await b24.actions.v2.call.make({ method: 'profile' });
      out.profile = r.getData().result;
      out.profileName = out.profile.NAME + ' ' + out.profile.LAST_NAME;
      await b24.parent.setTitle('Segments: ' + out.placement);
      await b24.parent.resizeWindow(900, 460);
      out.done = true;
    } catch (e) {
      out.error = String((e && (e.code ? e.code + ': ' + (e.description || e.message) : e.message)) || e);
    }
    show();
  })();
})();
</script></body></html>`;
}

export async function startTestApp(): Promise<TestApp> {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  const hits: TestApp['hits'] = [];
  const sdk = readFileSync(sdkPath, 'utf8');
  app.get('/sdk.js', (_req, res) => { res.type('text/javascript').send(sdk); });
  for (const kind of ['app', 'install', 'tab']) {
    app.all(`/${kind}`, (req, res) => {
      const hit = { path: `/${kind}`, method: req.method, query: { ...req.query }, body: { ...(req.body ?? {}) } };
      hits.push(hit);
      res.type('html').send(html(kind, hit));
    });
  }
  const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/app`, origin, hits,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
