/*
 * Parent side of the Bitrix24 app frame protocol (https://apidocs.bitrix24.com/sdk/bx24-js-sdk/index.html, https://github.com/bitrix24/b24jssdk), run by the
 * emulator's host page.
 *
 * Child → parent: "<command>:<JSON params>:<callbackId>:<APP_SID>" (params omitted when empty;
 * the JSON may contain ':'), or an object {method, params, callback, appSid} for commands whose
 * name contains ':'. Parent → child: iframe.contentWindow.postMessage("<callbackId>:<JSON>", appOrigin).
 * Only messages from a frame this page mounted, with that frame's APP_SID and origin, are answered.
 * Every accepted command is recorded in window.__b24Log for browser tests.
 */
(function () {
  'use strict';
  var cfg = window.__hostConfig || {};
  var log = (window.__b24Log = window.__b24Log || []);
  /** appSid -> { spec, iframe, container, ctx } */
  var frames = new Map();
  window.__b24Frames = frames;
  var OPEN_PATH_RE = /^\/(crm\/(deal|lead|contact|company|type)|marketplace|company\/personal\/user\/[0-9]+|workgroups\/group\/[0-9]+)\//;

  function withUser(path) {
    if (!cfg.user || cfg.user === 1) return path;
    var u = new URL(path, location.origin);
    u.searchParams.set('user', String(cfg.user));
    return u.pathname + u.search + u.hash;
  }

  function hostPost(path, body) {
    return fetch(path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var err = new Error(j.error_description || r.statusText);
          err.code = j.error;
          throw err;
        }
        return j;
      });
    });
  }

  /** Mounts an app frame: hidden form POST into <iframe name="DOMAIN|PROTOCOL|APP_SID">. */
  function mount(container, spec, ctx) {
    for (var pair of Array.from(frames)) {
      if (pair[1].container === container) frames.delete(pair[0]);
    }
    container.innerHTML = '';
    var iframe = document.createElement('iframe');
    iframe.name = spec.name;
    iframe.className = 'b24-app-iframe';
    iframe.setAttribute('data-app-sid', spec.appSid);
    iframe.setAttribute('data-placement', spec.init.PLACEMENT);
    iframe.setAttribute('allow', 'clipboard-read; clipboard-write');
    var form = document.createElement('form');
    form.method = 'POST';
    form.action = spec.action;
    form.target = spec.name;
    form.enctype = 'application/x-www-form-urlencoded';
    form.acceptCharset = 'UTF-8';
    form.style.display = 'none';
    Object.keys(spec.fields).forEach(function (k) {
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = k;
      input.value = spec.fields[k];
      form.appendChild(input);
    });
    container.appendChild(iframe);
    container.appendChild(form);
    var entry = { spec: spec, iframe: iframe, container: container, ctx: ctx || {} };
    frames.set(spec.appSid, entry);
    form.submit();
    form.remove();
    return entry;
  }

  function newFrame(clientId, placement, options, bindingId) {
    return hostPost('/_host/frame', {
      clientId: clientId, user: cfg.user || 1, placement: placement || 'DEFAULT', options: options || {}, bindingId: bindingId,
    });
  }

  function remount(entry, placementOptions) {
    var init = entry.spec.init;
    return newFrame(entry.spec.clientId, init.PLACEMENT, placementOptions || init.PLACEMENT_OPTIONS, entry.ctx.bindingId)
      .then(function (spec) { return mount(entry.container, spec, entry.ctx); });
  }

  // ---- slider ----------------------------------------------------------------------------------
  function openSlider(title, width) {
    var stack = document.getElementById('slider-stack') || document.body.appendChild(document.createElement('div'));
    var overlay = document.createElement('div');
    overlay.className = 'slider-overlay';
    var panel = document.createElement('div');
    panel.className = 'slider-panel';
    if (width) panel.style.width = Math.min(Number(width) || 1200, window.innerWidth - 60) + 'px';
    var head = document.createElement('div');
    head.className = 'slider-head';
    var titleEl = document.createElement('div');
    titleEl.className = 'slider-title';
    titleEl.textContent = title || '';
    var closeBtn = document.createElement('button');
    closeBtn.className = 'slider-close';
    closeBtn.type = 'button';
    closeBtn.setAttribute('aria-label', 'Close');
    closeBtn.textContent = '×';
    head.appendChild(titleEl);
    head.appendChild(closeBtn);
    var body = document.createElement('div');
    body.className = 'slider-body';
    panel.appendChild(head);
    panel.appendChild(body);
    overlay.appendChild(panel);
    stack.appendChild(overlay);
    var resolveClosed;
    var closed = new Promise(function (res) { resolveClosed = res; });
    var s = {
      overlay: overlay, titleEl: titleEl, body: body, closed: closed,
      close: function () {
        if (!overlay.isConnected) return;
        for (var pair of Array.from(frames)) {
          if (body.contains(pair[1].container)) frames.delete(pair[0]);
        }
        overlay.remove();
        resolveClosed();
      },
    };
    closeBtn.addEventListener('click', s.close);
    overlay.addEventListener('mousedown', function (e) { if (e.target === overlay) s.close(); });
    return s;
  }
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') return;
    var all = document.querySelectorAll('.slider-overlay .slider-close');
    var last = all[all.length - 1];
    if (last) last.click();
  });

  // ---- dialogs -----------------------------------------------------------------------------------
  function selectUserDialog(mult) {
    return fetch('/_host/users').then(function (r) { return r.json(); }).then(function (users) {
      return new Promise(function (resolve) {
        var s = openSlider(mult ? 'Select users' : 'Select a user', 520);
        s.overlay.classList.add('dialog');
        var list = document.createElement('div');
        list.className = 'user-picker';
        var chosen = [];
        users.forEach(function (u) {
          var b = document.createElement('button');
          b.type = 'button';
          b.className = 'user-option';
          b.setAttribute('data-user-id', u.id);
          b.textContent = u.name + (u.position ? ' — ' + u.position : '');
          b.addEventListener('click', function () {
            var v = { id: u.id, name: u.name, photo: u.photo, position: u.position, url: u.url, sub: false, sup: false };
            if (!mult) { resolve(v); s.close(); return; }
            b.classList.toggle('chosen');
            var i = chosen.findIndex(function (x) { return x.id === u.id; });
            if (i >= 0) chosen.splice(i, 1); else chosen.push(v);
          });
          list.appendChild(b);
        });
        s.body.appendChild(list);
        if (mult) {
          var ok = document.createElement('button');
          ok.type = 'button';
          ok.className = 'btn primary user-picker-ok';
          ok.textContent = 'Select';
          ok.addEventListener('click', function () { resolve(chosen.slice()); s.close(); });
          s.body.appendChild(ok);
        }
        s.closed.then(function () { resolve(mult ? chosen.slice() : null); });
      });
    });
  }

  // ---- commands --------------------------------------------------------------------------------
  var NO_REPLY = {};
  function px(v) {
    if (typeof v === 'number') return v + 'px';
    var s = String(v);
    return /^\d+(\.\d+)?$/.test(s) ? s + 'px' : s;
  }

  var handlers = {
    getInitData: function (entry) { return entry.spec.init; },
    setInstall: function () { return {}; },
    setInstallFinish: function (entry) {
      return hostPost('/_host/install-finish', { appSid: entry.spec.appSid }).then(function () {
        entry.spec.init.INSTALL = false;
        setTimeout(function () {
          var notice = document.getElementById('install-notice');
          if (notice) notice.remove();
          remount(entry).catch(function (err) { console.error('reload after installFinish failed', err); });
        }, 150);
        return {};
      });
    },
    refreshAuth: function (entry) {
      return hostPost('/_host/refresh-auth', { appSid: entry.spec.appSid }).then(function (a) {
        entry.spec.init.AUTH_ID = a.AUTH_ID;
        entry.spec.init.REFRESH_ID = a.REFRESH_ID;
        entry.spec.init.AUTH_EXPIRES = a.AUTH_EXPIRES;
        return a;
      });
    },
    resizeWindow: function (entry, p) {
      if (p && p.height !== undefined) entry.iframe.style.height = px(p.height);
      if (p && p.width !== undefined) entry.iframe.style.width = px(p.width);
      return {};
    },
    setTitle: function (entry, p) {
      if (entry.ctx.noTitle) return {}; // widgets (detail tabs) have no title container
      var el = entry.ctx.titleEl || document.getElementById('pagetitle');
      if (el) el.textContent = p && p.title !== undefined ? String(p.title) : '';
      return {};
    },
    setScroll: function (entry, p) {
      window.scrollTo(0, Number(p && p.scroll) || 0);
      return {};
    },
    reloadWindow: function (entry) {
      setTimeout(function () { remount(entry); }, 50);
      return {};
    },
    openPath: function (entry, p) {
      var u;
      try { u = new URL(String((p && p.path) || ''), location.origin); } catch (e) { u = null; }
      if (!u || u.origin !== location.origin || !OPEN_PATH_RE.test(u.pathname)) {
        return { result: 'error', errorCode: 'PATH_NOT_AVAILABLE' };
      }
      u.searchParams.set('IFRAME', 'Y');
      u.searchParams.set('IFRAME_TYPE', 'SIDE_SLIDER');
      var s = openSlider('', 1200);
      s.overlay.setAttribute('data-path', u.pathname);
      var f = document.createElement('iframe');
      f.className = 'slider-page';
      f.src = withUser(u.pathname + u.search);
      f.addEventListener('load', function () {
        try { s.titleEl.textContent = f.contentDocument.querySelector('#pagetitle').textContent; } catch (e) { /* cross-origin */ }
      });
      s.body.appendChild(f);
      return s.closed.then(function () { return { result: 'close' }; });
    },
    openApplication: function (entry, p) {
      var options = {};
      var settings = {};
      Object.keys(p || {}).forEach(function (k) {
        if (k.indexOf('bx24_') === 0) settings[k.slice(5)] = p[k]; else options[k] = p[k];
      });
      var s = openSlider(settings.title || settings.label || '', settings.width || 1200);
      s.overlay.classList.add('app-slider');
      var box = document.createElement('div');
      box.className = 'app-frame';
      s.body.appendChild(box);
      return newFrame(entry.spec.clientId, 'DEFAULT', options).then(function (spec) {
        mount(box, spec, { titleEl: s.titleEl, slider: s });
        return s.closed.then(function () { return {}; });
      });
    },
    closeApplication: function (entry) {
      if (entry.ctx.slider) setTimeout(entry.ctx.slider.close, 0);
      return {};
    },
    setAppOption: function (entry, p) {
      return hostPost('/_host/app-option', { appSid: entry.spec.appSid, name: p && p.name, value: p && p.value }).then(function () {
        entry.spec.init.APP_OPTIONS[p.name] = p.value;
        return {};
      });
    },
    setUserOption: function (entry, p) {
      return hostPost('/_host/user-option', { appSid: entry.spec.appSid, name: p && p.name, value: p && p.value }).then(function () {
        entry.spec.init.USER_OPTIONS[p.name] = p.value;
        return {};
      });
    },
    selectUser: function (entry, p) { return selectUserDialog(!!(p && p.mult)); },
    getInterface: function () { return { command: [], event: [] }; },
  };

  function parse(data) {
    if (typeof data === 'string') {
      var r = data.split(':');
      if (r.length < 3) return null;
      var raw = r.slice(1, -2).join(':');
      var params = {};
      if (raw) {
        try { params = JSON.parse(raw); } catch (e) { params = raw; }
      }
      return { command: r[0], params: params, callback: r[r.length - 2], appSid: r[r.length - 1] };
    }
    if (data && typeof data === 'object' && typeof data.method === 'string') {
      return { command: data.method, params: data.params || {}, callback: data.callback, appSid: data.appSid };
    }
    return null;
  }

  function reply(entry, callback, result) {
    if (!callback || !entry.iframe.contentWindow) return;
    entry.iframe.contentWindow.postMessage(callback + ':' + (result === undefined ? '' : JSON.stringify(result)), entry.spec.appOrigin);
  }

  window.addEventListener('message', function (e) {
    var entry = null;
    frames.forEach(function (f) { if (f.iframe.contentWindow === e.source) entry = f; });
    if (!entry) return; // not one of our app frames
    var m = parse(e.data);
    if (!m) return;
    if (m.appSid !== entry.spec.appSid || e.origin !== entry.spec.appOrigin) {
      log.push({ command: m.command, rejected: m.appSid !== entry.spec.appSid ? 'APP_SID' : 'ORIGIN', at: Date.now() });
      return;
    }
    log.push({ command: m.command, params: m.params, appSid: m.appSid, placement: entry.spec.init.PLACEMENT, at: Date.now() });
    var h = handlers[m.command];
    Promise.resolve()
      .then(function () { return h ? h(entry, m.params) : {}; })
      .then(function (res) { if (res !== NO_REPLY) reply(entry, m.callback, res); },
        function (err) { reply(entry, m.callback, { error: (err && err.code) || 'ERROR', error_description: String((err && err.message) || err) }); });
  });

  // ---- page wiring ------------------------------------------------------------------------------
  function wireTabs() {
    document.querySelectorAll('.tabs').forEach(function (bar) {
      bar.addEventListener('click', function (e) {
        var btn = e.target.closest('.tab');
        if (!btn) return;
        bar.querySelectorAll('.tab').forEach(function (t) { t.classList.toggle('active', t === btn); });
        var id = btn.getAttribute('data-tab');
        document.querySelectorAll('.tab-panel').forEach(function (p) { p.hidden = p.id !== id; });
        var panel = document.getElementById(id);
        if (panel && panel.classList.contains('placement-panel') && !panel.getAttribute('data-mounted')) {
          panel.setAttribute('data-mounted', '1');
          var box = document.createElement('div');
          box.className = 'app-frame';
          panel.appendChild(box);
          var bindingId = Number(panel.getAttribute('data-binding-id'));
          var options = JSON.parse(panel.getAttribute('data-options') || '{}');
          options.URI = location.pathname;
          newFrame(panel.getAttribute('data-client-id'), panel.getAttribute('data-placement'), options, bindingId)
            .then(function (spec) { mount(box, spec, { bindingId: bindingId, noTitle: true }); })
            .catch(function (err) { box.textContent = 'Cannot open the application: ' + err.message; });
        }
      });
    });
  }

  function wireUserSwitch() {
    var sel = document.getElementById('user-switch');
    if (!sel) return;
    sel.addEventListener('change', function () {
      var u = new URL(location.href);
      if (sel.value === '1') u.searchParams.delete('user'); else u.searchParams.set('user', sel.value);
      location.href = u.toString();
    });
  }

  function start() {
    wireTabs();
    wireUserSwitch();
    if (cfg.mainFrame) {
      var box = document.getElementById('app-frame');
      if (box) mount(box, cfg.mainFrame, {});
    }
    window.__hostReady = true;
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
