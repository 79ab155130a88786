// The Console: one static page, no framework and no build step (docs/CONSOLE.md says why). It
// signs a person in (the local admin token exchanged for a session, or Cognito's hosted UI with
// PKCE on AWS), then calls the console API (/console/v1/...) with that session as its bearer
// token. Everything shown is built as DOM nodes from text, never parsed from HTML, and nothing is
// loaded from another host (the page's Content-Security-Policy would refuse it anyway).
'use strict';

(() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const SESSION_KEY = 'console.session';
  const PKCE_KEY = 'console.pkce';
  const API = '/console/v1/';
  const WEBHOOK_EVENTS = [
    ['user:connection_status', 'Connection status (online, offline)'],
    ['user:activation_state', 'Activation state (purged, restored)'],
    ['user:profile_update', 'Profile update'],
    ['user:friendship', 'Friendship'],
  ];
  const FRIEND_PERMISSIONS = [
    ['1', 'Anyone may add the user directly'],
    ['2', 'A request the user must accept'],
    ['3', 'Nobody may add the user'],
  ];
  const TTL_UNITS = [['86400', 'days'], ['3600', 'hours'], ['60', 'minutes'], ['1', 'seconds']];
  const MAX_TIMER_MS = 2147483647;

  const $ = (id) => document.getElementById(id);
  const view = $('view');
  const notice = $('notice');
  const problem = $('problem');

  let config = null;
  let session = null;
  let expiryTimer = 0;
  // Each navigation's number: a slow answer for a page the person has left is dropped.
  let navigation = 0;
  let lastId = 0;

  // ---- DOM ---------------------------------------------------------------------------------

  /** An element (`svg:` prefix: an SVG one) with attributes, `on...` listeners and children. */
  function h(tag, attrs, ...children) {
    const el = tag.startsWith('svg:')
      ? document.createElementNS(SVG_NS, tag.slice(4))
      : document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  const uid = (prefix) => `${prefix}-${++lastId}`;

  /** A labelled control; `hint` is tied to it with aria-describedby. */
  function field(label, control, hint) {
    const note = hint ? h('span', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
    if (note) control.setAttribute('aria-describedby', note.id);
    return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, note);
  }

  function checkbox(label, id, checked, hint) {
    const box = h('input', { type: 'checkbox', id, checked });
    const note = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
    if (note) box.setAttribute('aria-describedby', note.id);
    return h('div', {}, h('div', { class: 'field inline' }, box, h('label', { for: id }, label)), note);
  }

  function select(id, options, current) {
    return h('select', { id },
      options.map(([value, text]) => h('option', { value, selected: String(current) === value }, text)));
  }

  function button(text, onclick, kind) {
    return h('button', { type: 'button', class: kind, onclick }, text);
  }

  function heading(text) {
    return h('h1', { tabindex: '-1' }, text);
  }

  function panel(title, ...children) {
    const id = uid('panel');
    return h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, title), children);
  }

  function facts(rows) {
    return h('dl', { class: 'facts' },
      rows.filter(Boolean).map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
  }

  function say(text) {
    problem.textContent = '';
    notice.textContent = text;
  }

  function complain(text) {
    notice.textContent = '';
    problem.textContent = text;
  }

  function quiet() {
    notice.textContent = '';
    problem.textContent = '';
  }

  // ---- formatting --------------------------------------------------------------------------

  function when(value) {
    if (value === null || value === undefined || value === '') return '—';
    // The console API writes UTC either as Unix ms or as "YYYY-MM-DD hh:mm:ss".
    const utc = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(String(value)) ? `${String(value).replace(' ', 'T')}Z` : value;
    const date = typeof utc === 'number' ? new Date(utc) : new Date(String(utc));
    return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
  }

  function number(value) {
    if (typeof value !== 'number') return String(value);
    return Math.abs(value) >= 100 || Number.isInteger(value)
      ? Math.round(value).toLocaleString()
      : value.toPrecision(3);
  }

  function duration(seconds) {
    if (!seconds) return 'permanent';
    const [size, unit] = TTL_UNITS.find(([s]) => seconds % Number(s) === 0);
    return `${seconds / Number(size)} ${unit}`;
  }

  /** A datetime-local input's value as Unix ms, or undefined when empty. */
  function instant(input) {
    if (!input.value) return undefined;
    const ms = new Date(input.value).getTime();
    return Number.isNaN(ms) ? undefined : ms;
  }

  const json = (value) => (value === undefined ? '' : JSON.stringify(value));

  // ---- the console API ---------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** Thrown when a call found the session gone: the sign-in form is already showing. */
  class SignedOut extends Error {}

  async function post(path, body, token) {
    try {
      return await fetch(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify(body || {}),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (err) {
      throw new ApiError(0, null, `The console API could not be reached (${err.message}).`);
    }
  }

  async function answerOf(response) {
    const payload = await response.json().catch(() => null);
    if (response.ok && payload && (payload.code === 0 || payload.code === undefined)) {
      return payload.result || payload;
    }
    const said = payload && (payload.errorMessage || payload.message);
    const code = payload && payload.code !== undefined ? `, code ${payload.code}` : '';
    throw new ApiError(response.status, payload && payload.code,
      `${said || response.statusText || 'Refused'} (HTTP ${response.status}${code})`);
  }

  /** A console operation: `op` is its path under /console/v1/. */
  async function api(op, body) {
    if (!session) throw new SignedOut();
    const response = await post(API + op, body, session.token);
    if (response.status === 401) {
      endSession('The console refused your session (it expired or was signed out). Sign in again.');
      throw new SignedOut();
    }
    return answerOf(response);
  }

  /** Runs an action from a button: the button is disabled meanwhile, errors are announced. */
  async function act(control, action) {
    control.disabled = true;
    control.setAttribute('aria-busy', 'true');
    quiet();
    try {
      await action();
    } catch (err) {
      if (!(err instanceof SignedOut)) complain(err.message);
    } finally {
      control.disabled = false;
      control.removeAttribute('aria-busy');
    }
  }

  /** A form whose submit runs `action` (Enter submits; the submit button shows progress). */
  function form(label, children, submitText, action) {
    const submit = h('button', { type: 'submit' }, submitText);
    return h('form', {
      'aria-label': label,
      onsubmit: (event) => {
        event.preventDefault();
        act(submit, action);
      },
    }, children, h('div', { class: 'actions' }, submit));
  }

  /** A button that asks before it acts: a second, explicit button confirms. */
  function guarded(text, warning, action, kind = 'danger') {
    const box = h('div', { class: 'actions' });
    const start = button(text, () => {
      const confirm = button(`Yes, ${text.toLowerCase()}`, () => act(confirm, async () => {
        await action();
        box.replaceChildren(start);
      }), kind);
      const cancel = button('Cancel', () => {
        box.replaceChildren(start);
        start.focus();
      }, 'quiet');
      box.replaceChildren(h('p', { role: 'note' }, warning), confirm, cancel);
      confirm.focus();
    }, kind);
    box.append(start);
    return box;
  }

  /** Copies `value` (or what `value()` answers when pressed: a secret that a rotation replaced). */
  function copyButton(value, what) {
    return button(`Copy ${what}`, async () => {
      try {
        await navigator.clipboard.writeText(typeof value === 'function' ? value() : value);
        say(`${what} copied to the clipboard.`);
      } catch {
        complain(`The browser refused to copy: select the ${what} and copy it yourself.`);
      }
    }, 'quiet');
  }

  /** A secret shown once (app secret, webhook secret): with copy buttons and a way to close. */
  function shownOnce(title, rows, note) {
    const id = uid('secret');
    const box = h('section', { class: 'panel secret', 'aria-labelledby': id },
      h('h2', { id, tabindex: '-1' }, title),
      h('p', {}, note),
      h('dl', { class: 'facts' }, rows.map(([term, value]) => [
        h('dt', {}, term),
        h('dd', {}, h('code', { 'data-secret': term }, value), ' ', copyButton(value, term)),
      ])),
      h('div', { class: 'actions' }, button('I have stored it', () => box.remove(), 'quiet')));
    return box;
  }

  function reveal(container, box) {
    container.prepend(box);
    box.querySelector('h2').focus();
  }

  /**
   * A table loaded page by page from a paged console operation. `load(pageToken)` answers
   * `{rows, pageToken}`; `columns` are `[heading, cell(row), numeric?]`.
   */
  function pagedTable(caption, columns, load, empty) {
    const tokens = [undefined];
    let page = 0;
    const body = h('tbody');
    const status = h('p', { class: 'hint', 'aria-live': 'polite' });
    const previous = button('Previous page', () => show(page - 1), 'quiet');
    const next = button('Next page', () => show(page + 1), 'quiet');
    const table = h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map(([title, , numeric]) =>
        h('th', { scope: 'col', class: numeric ? 'num' : null }, title)))),
      body);
    const box = h('div', { class: 'paged' },
      h('div', { class: 'table-wrap' }, table), h('div', { class: 'pager' }, previous, next, status));

    async function show(index) {
      table.setAttribute('aria-busy', 'true');
      previous.disabled = true;
      next.disabled = true;
      try {
        const answer = await load(tokens[index]);
        page = index;
        tokens[index + 1] = answer.pageToken || null;
        body.replaceChildren(...answer.rows.map((row) => h('tr', {}, columns.map(([, cell, numeric]) =>
          h('td', { class: numeric ? 'num' : null }, cell(row))))));
        if (!answer.rows.length) {
          body.append(h('tr', {}, h('td', { colspan: columns.length }, empty)));
        }
        status.textContent = `Page ${page + 1}, ${answer.rows.length} ${answer.rows.length === 1 ? 'row' : 'rows'}.`;
      } catch (err) {
        if (err instanceof SignedOut) return;
        body.replaceChildren(h('tr', {}, h('td', { colspan: columns.length }, `Could not load: ${err.message}`)));
        status.textContent = '';
      } finally {
        table.removeAttribute('aria-busy');
        previous.disabled = page === 0;
        next.disabled = !tokens[page + 1];
      }
    }

    box.reload = () => show(page);
    box.restart = () => {
      tokens.length = 1;
      return show(0);
    };
    show(0);
    return box;
  }

  // ---- sessions ----------------------------------------------------------------------------

  function startSession(next) {
    session = next;
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
    clearTimeout(expiryTimer);
    const left = next.expiresAt - Date.now();
    expiryTimer = setTimeout(() => endSession('Your session expired. Sign in again.'),
      Math.max(0, Math.min(left, MAX_TIMER_MS)));
    $('account-expiry').textContent = `Signed in until ${new Date(next.expiresAt).toLocaleTimeString()}`;
  }

  function restoreSession() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
      if (saved && typeof saved.token === 'string' && saved.expiresAt > Date.now()) {
        startSession(saved);
        return;
      }
    } catch {
      // A damaged entry is a signed-out browser.
    }
    sessionStorage.removeItem(SESSION_KEY);
  }

  /** Forgets the session and shows the sign-in form with `reason`. */
  function endSession(reason, asProblem = true) {
    session = null;
    sessionStorage.removeItem(SESSION_KEY);
    clearTimeout(expiryTimer);
    navigation += 1;
    showSignIn();
    if (asProblem) complain(reason);
    else say(reason);
  }

  function expiryOf(answer) {
    const at = typeof answer.expiresAt === 'number' ? answer.expiresAt : Date.parse(answer.expiresAt);
    // Seconds since the epoch are read as such; the console API answers milliseconds.
    return at < 1e12 ? at * 1000 : at;
  }

  async function signInWithToken(adminToken) {
    const response = await post('/console/session', {}, adminToken);
    if (response.status === 401 || response.status === 403) {
      throw new ApiError(response.status, null, 'That admin token was refused.');
    }
    const answer = await answerOf(response);
    if (typeof answer.sessionToken !== 'string') {
      throw new ApiError(response.status, null, 'The sign-in answer had no session token.');
    }
    startSession({ token: answer.sessionToken, expiresAt: expiryOf(answer), kind: 'token' });
  }

  async function signOut() {
    const ending = session;
    if (ending && ending.kind === 'cognito') {
      session = null;
      sessionStorage.removeItem(SESSION_KEY);
      const query = new URLSearchParams({ client_id: config.clientId, logout_uri: pageUrl() });
      window.location.assign(`${config.domain}/logout?${query}`);
      return;
    }
    if (ending) {
      // Ended on the server too, so the token is worthless even if it was copied.
      const response = await post('/console/session/delete', {}, ending.token).catch(() => null);
      if (response && !response.ok && response.status !== 401) {
        endSession(`Signed out here, but the server did not confirm it (HTTP ${response.status}).`);
        return;
      }
    }
    endSession('Signed out.', false);
  }

  // Cognito's hosted UI: authorization code with PKCE (RFC 7636); no client secret in the page.
  const pageUrl = () => `${window.location.origin}${window.location.pathname}`;

  function base64url(bytes) {
    let text = '';
    for (const byte of bytes) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  async function startCognito() {
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, hash: window.location.hash }));
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: config.clientId,
      redirect_uri: pageUrl(),
      scope: config.scope,
      state,
      code_challenge: base64url(new Uint8Array(digest)),
      code_challenge_method: 'S256',
    });
    window.location.assign(`${config.domain}/oauth2/authorize?${query}`);
  }

  /** Back from the hosted UI with `?code=&state=` (or `?error=`): the code becomes a token. */
  async function finishCognito(params) {
    const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
    sessionStorage.removeItem(PKCE_KEY);
    // The code is single-use: take it out of the address bar and the history.
    window.history.replaceState(null, '', window.location.pathname + ((saved && saved.hash) || '#/apps'));
    if (params.get('error')) {
      throw new Error(`Sign-in refused: ${params.get('error_description') || params.get('error')}`);
    }
    if (!saved || saved.state !== params.get('state')) {
      throw new Error('That sign-in answer was not for this browser tab. Sign in again.');
    }
    let response;
    try {
      response = await fetch(`${config.domain}/oauth2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: config.clientId,
          code: params.get('code') || '',
          redirect_uri: pageUrl(),
          code_verifier: saved.verifier,
        }),
        credentials: 'omit',
      });
    } catch (err) {
      throw new Error(`The sign-in service could not be reached (${err.message}).`);
    }
    const tokens = await response.json().catch(() => null);
    if (!response.ok || !tokens || typeof tokens.access_token !== 'string') {
      throw new Error(`The sign-in service issued no token (${(tokens && tokens.error) || response.status}).`);
    }
    startSession({
      token: tokens.access_token,
      expiresAt: Date.now() + Number(tokens.expires_in || 3600) * 1000,
      kind: 'cognito',
    });
  }

  function showSignIn() {
    $('nav').hidden = true;
    $('app-nav').hidden = true;
    $('account').hidden = true;
    document.title = 'Sign in · Console';
    if (config.signIn === 'cognito') {
      view.replaceChildren(heading('Sign in'),
        h('p', {}, 'Sign in with your console account (the user pool of this stack).'),
        h('div', { class: 'actions' }, button('Sign in', (event) => act(event.currentTarget, startCognito))));
      return;
    }
    const token = h('input', {
      id: 'admin-token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false',
    });
    view.replaceChildren(heading('Sign in'),
      form('Sign in', [field('Admin token', token,
        'The console admin token the local API printed when it started (LOCAL_ADMIN_TOKEN). '
        + 'It is exchanged for a session and not kept.')], 'Sign in', async () => {
        await signInWithToken(token.value);
        token.value = '';
        quiet();
        if (!window.location.hash || window.location.hash === '#/') window.location.hash = '#/apps';
        render();
      }));
  }

  // ---- navigation --------------------------------------------------------------------------

  /** `#/apps`, `#/activity`, `#/app/<appKey>/<page>`. */
  function route() {
    const parts = window.location.hash.replace(/^#\/?/, '').split('/').map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return '';
      }
    });
    if (parts[0] === 'app' && parts[1]) {
      const page = APP_PAGES[parts[2]] ? parts[2] : 'overview';
      return { section: 'apps', appKey: parts[1], page };
    }
    if (parts[0] === 'activity') return { section: 'activity', page: 'activity' };
    return { section: 'apps', page: 'list' };
  }

  const appLink = (appKey, page) => `#/app/${encodeURIComponent(appKey)}/${page}`;

  function showNav(where) {
    $('nav').hidden = false;
    $('account').hidden = false;
    for (const link of $('nav').querySelectorAll('a')) {
      if (link.dataset.section === where.section) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    const appNav = $('app-nav');
    appNav.hidden = !where.appKey;
    if (!where.appKey) return;
    $('app-nav-key').textContent = where.appKey;
    for (const link of appNav.querySelectorAll('a')) {
      link.setAttribute('href', appLink(where.appKey, link.dataset.page));
      if (link.dataset.page === where.page) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  }

  async function render(moveFocus) {
    const mine = ++navigation;
    if (!session) {
      showSignIn();
      return;
    }
    const where = route();
    showNav(where);
    view.replaceChildren(h('p', { 'aria-busy': 'true' }, 'Loading…'));
    try {
      const page = where.appKey ? APP_PAGES[where.page] : (where.section === 'activity' ? activityPage : appsPage);
      const [title, ...content] = await page(where);
      if (mine !== navigation) return;
      document.title = `${title.textContent} · Console`;
      view.replaceChildren(title, ...content);
      if (moveFocus) title.focus();
    } catch (err) {
      if (err instanceof SignedOut || mine !== navigation) return;
      const title = heading('This page could not be loaded');
      view.replaceChildren(title, h('p', {}, err.message), h('p', {}, h('a', { href: '#/apps' }, 'Back to the apps')));
      complain(err.message);
      if (moveFocus) title.focus();
    }
  }

  // ---- Apps --------------------------------------------------------------------------------

  async function appsPage() {
    const environment = select(uid('environment'), [['development', 'development'], ['production', 'production']], 'development');
    const plan = select(uid('plan'), [['free', 'free'], ['starter', 'starter'], ['pro', 'pro']], 'free');
    const wrap = h('div');
    const list = pagedTable('Apps, newest first', [
      ['App key', (app) => h('a', { href: appLink(app.appKey, 'overview') }, h('code', {}, app.appKey))],
      ['Environment', (app) => app.environment],
      ['Plan', (app) => app.plan],
      ['Status', (app) => app.status],
      ['Users', (app) => number(app.userCount), true],
      ['Created', (app) => when(app.createdAt)],
    ], async (pageToken) => {
      const answer = await api('apps/list', { pageSize: 20, pageToken });
      return { rows: answer.apps || [], pageToken: answer.pageToken };
    }, 'No apps yet: create one above.');
    const create = form('Create an app', [h('div', { class: 'row' },
      field('Environment', environment, 'Development apps may delete test users; both cap users on the free plan.'),
      field('Plan', plan))], 'Create app', async () => {
      const app = await api('apps/create', { environment: environment.value, plan: plan.value });
      reveal(wrap, shownOnce(`App ${app.appKey} created`, [['App key', app.appKey], ['App secret', app.appSecret]],
        'Store the app secret now: it is shown only this once (rotating it makes a new one). '
        + 'Your backend signs Server API calls with it; the browser never needs it.'));
      wrap.querySelector('.secret').append(h('p', {}, h('a', { href: appLink(app.appKey, 'overview') }, `Open app ${app.appKey}`)));
      say(`App ${app.appKey} created.`);
      list.restart();
    });
    const key = h('input', { id: uid('open-key'), required: true, autocomplete: 'off', spellcheck: 'false' });
    const open = form('Open an app', [field('App key', key)], 'Open', async () => {
      window.location.hash = appLink(key.value.trim(), 'overview');
    });
    return [heading('Apps'), wrap,
      panel('Create an app', create),
      panel('Open an app by its key', open),
      h('h2', {}, 'All apps'), list];
  }

  async function loadApp(appKey) {
    return api('apps/get', { appKey });
  }

  async function updateApp(appKey, changes, done) {
    const app = await api('apps/update', { appKey, ...changes });
    say(done);
    return app;
  }

  function capMeter(app) {
    const id = uid('meter');
    if (app.userCap === null || app.userCap === undefined) {
      return h('p', {}, h('strong', {}, number(app.userCount)), ' registered users (no cap: production on a paid plan).');
    }
    return h('div', { class: 'field' },
      h('label', { for: id }, 'Registered users'),
      h('meter', {
        id, min: 0, max: app.userCap, value: Math.min(app.userCount, app.userCap),
        high: Math.floor(app.userCap * 0.9), optimum: 0,
      }, `${app.userCount} of ${app.userCap}`),
      h('span', { 'data-user-count': app.userCount }, `${number(app.userCount)} / ${number(app.userCap)} users`));
  }

  async function overviewPage({ appKey }) {
    const app = await loadApp(appKey);
    const wrap = h('div');
    const environment = select(uid('environment'), [['development', 'development'], ['production', 'production']], app.environment);
    const plan = select(uid('plan'), [['free', 'free'], ['starter', 'starter'], ['pro', 'pro']], app.plan);
    const status = select(uid('status'), [['enabled', 'enabled'], ['offline', 'offline (every call refused)']], app.status);
    const meterBox = h('div', {}, capMeter(app));
    const basics = form('Environment, plan and status', [h('div', { class: 'row' },
      field('Environment', environment), field('Plan', plan), field('Status', status))], 'Save', async () => {
      const saved = await updateApp(appKey, { environment: environment.value, plan: plan.value, status: status.value },
        'Environment, plan and status saved.');
      meterBox.replaceChildren(capMeter(saved));
    });

    const ttl = app.settings.accessTokenTtlSeconds || 0;
    const [unitSize] = TTL_UNITS.find(([s]) => ttl % Number(s) === 0);
    const amount = h('input', { id: uid('ttl'), type: 'number', min: 0, step: 1, value: ttl / Number(unitSize) });
    const unit = select(uid('ttl-unit'), TTL_UNITS, unitSize);
    const ttlNow = h('p', {}, 'Now: ', h('strong', {}, duration(ttl)));
    const validity = form('Access token validity', [ttlNow, h('div', { class: 'row' },
      field('Valid for', amount, '0 = permanent (the default). Otherwise 60 seconds to 365 days.'),
      field('Unit', unit)),
    h('p', { class: 'hint' }, 'Applies to tokens issued after the change; the connect check refuses a token older than this.')],
    'Save validity', async () => {
      const seconds = Math.round(Number(amount.value || 0) * Number(unit.value));
      const saved = await updateApp(appKey, { settings: { accessTokenTtlSeconds: seconds } },
        `Access token validity saved: ${duration(seconds)}, for tokens issued from now on.`);
      ttlNow.replaceChildren('Now: ', h('strong', {}, duration(saved.settings.accessTokenTtlSeconds || 0)));
    });

    const rotate = guarded('Rotate the app secret',
      'A new secret replaces the old one at once: calls signed with the old secret are refused, and every access '
      + 'token of the app stops working (live connections close).', async () => {
        const rotated = await api('apps/rotate-secret', { appKey });
        reveal(wrap, shownOnce('New app secret', [['App secret', rotated.appSecret]],
          'Store the new app secret now: it is shown only this once.'));
        say('App secret rotated.');
      });

    return [heading(`App ${appKey}`), wrap,
      panel('Keys', facts([
        ['App key', [h('code', {}, app.appKey), ' ', copyButton(app.appKey, 'App key')]],
        ['App secret', 'Shown once, when the app is created and when it is rotated.'],
        ['Created', when(app.createdAt)],
      ]), rotate),
      panel('Registration cap', meterBox),
      panel('Environment, plan and status', basics),
      panel('Access token validity', validity)];
  }

  // ---- Chat settings -----------------------------------------------------------------------

  async function chatPage({ appKey }) {
    const app = await loadApp(appKey);
    const settings = app.settings;
    const restrict = checkbox('Restrict direct messaging to friends', uid('restrict'), settings.restrictDmToFriends,
      'When on, the DM check (/v4/ext/dm/permission/check) refuses a message between users who are not friends.');
    const permission = select(uid('permission'), FRIEND_PERMISSIONS, settings.defaultFriendPermission);
    const blocklist = h('input', { id: uid('blocklist'), type: 'number', min: 1, max: 3000, value: settings.blocklistLimit });
    const keys = h('textarea', { id: uid('ext-keys'), rows: 3, spellcheck: 'false' },
      (settings.declaredExtProfileKeys || []).join('\n'));
    const friend = form('Friend settings', [
      h('fieldset', {}, h('legend', {}, 'Friend'),
        restrict,
        field('Default friend permission', permission, 'Used for users who have not set their own.'),
        field('Blocklist limit', blocklist, 'How many users one user may block: 1 to 3,000.')),
      h('fieldset', {}, h('legend', {}, 'User profile'),
        field('Declared ext profile keys', keys,
          'One per line: ext_ followed by letters, digits or _ (at most 20). Empty: any ext_ key is accepted.')),
    ], 'Save chat settings', async () => {
      const declared = keys.value.split(/[\s,]+/).filter(Boolean);
      await updateApp(appKey, {
        settings: {
          restrictDmToFriends: restrict.querySelector('input').checked,
          defaultFriendPermission: Number(permission.value),
          blocklistLimit: Number(blocklist.value),
          declaredExtProfileKeys: declared,
        },
      }, 'Chat settings saved.');
    });
    return [heading('Chat settings'),
      h('p', { class: 'hint' }, 'Chat > Chat settings > Friend, as Nexconn\'s Console names them.'),
      panel('Friend and profile', friend),
      panel('Rate limits', rateLimitForm(appKey, settings.rateLimits))];
  }

  function rateLimitForm(appKey, current) {
    const defaults = (config.rateLimits && config.rateLimits.operations) || {};
    const off = current === 'off';
    const limits = off || !current ? {} : current;
    const name = uid('rate-mode');
    const mode = (value, label, checked) => {
      const id = uid('rate-mode');
      return h('div', { class: 'field inline' },
        h('input', { type: 'radio', name, id, value, checked }), h('label', { for: id }, label));
    };
    const everyOther = h('input', {
      id: uid('rate-default'), type: 'number', min: 0, max: 100000, value: limits.default ?? '', placeholder: 'Nexconn\'s',
    });
    const inputs = Object.keys(defaults).sort().map((path) => [path, h('input', {
      type: 'number', min: 0, max: 100000, value: limits[path] ?? '', placeholder: 'default',
      'aria-label': `Limit for ${path}`, 'data-path': path,
    })]);
    const table = h('table', {},
      h('caption', {}, 'Per operation (calls per second; empty: the default above, or Nexconn\'s; 0: no limit)'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Operation'),
        h('th', { scope: 'col', class: 'num' }, 'Nexconn\'s limit'), h('th', { scope: 'col' }, 'This app'))),
      h('tbody', {}, inputs.map(([path, input]) => h('tr', {},
        h('th', { scope: 'row' }, h('code', {}, path)), h('td', { class: 'num' }, number(defaults[path])), h('td', {}, input)))));
    const modes = h('fieldset', {}, h('legend', {}, 'Limits'),
      mode('limits', 'Nexconn\'s limits, with this app\'s overrides below', !off),
      mode('off', 'Off: no operation of this app is limited', off));
    return form('Rate limits', [modes,
      field('Default for operations not set below', everyOther,
        'Calls per second per operation; empty: Nexconn\'s limit of each; 0: no limit.'),
      h('div', { class: 'table-wrap' }, table)], 'Save rate limits', async () => {
      const chosen = modes.querySelector('input:checked').value;
      let rateLimits = 'off';
      if (chosen !== 'off') {
        rateLimits = {};
        if (everyOther.value !== '') rateLimits.default = Number(everyOther.value);
        for (const [path, input] of inputs) {
          if (input.value !== '') rateLimits[path] = Number(input.value);
        }
      }
      await updateApp(appKey, { settings: { rateLimits } },
        rateLimits === 'off' ? 'Rate limits turned off.' : 'Rate limits saved.');
    });
  }

  // ---- Webhooks ----------------------------------------------------------------------------

  async function webhooksPage({ appKey }) {
    const app = await loadApp(appKey);
    const settings = app.settings;
    const wrap = h('div');
    const url = h('input', { id: uid('webhook-url'), type: 'url', value: settings.webhookUrl || '', spellcheck: 'false' });
    const events = WEBHOOK_EVENTS.map(([type, label]) =>
      checkbox(label, uid('event'), (settings.webhookEvents || []).includes(type), null));
    events.forEach((box, i) => box.querySelector('input').setAttribute('value', WEBHOOK_EVENTS[i][0]));
    const destination = form('Webhook destination', [
      field('Webhook URL', url, 'https://, or http:// to a receiver on this machine when local. Empty: nothing is sent.'),
      h('fieldset', {}, h('legend', {}, 'Events to send'), events),
    ], 'Save webhook', async () => {
      const chosen = events.map((box) => box.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
      await updateApp(appKey, { settings: { webhookUrl: url.value.trim(), webhookEvents: chosen } }, 'Webhook saved.');
    });

    const overlap = h('p', { class: 'hint' }, settings.previousWebhookSecretUntil
      ? `The previous secret also signs every delivery until ${when(settings.previousWebhookSecretUntil)}.` : '');
    const secretCode = h('code', {}, settings.webhookSecret || '');
    const rotate = guarded('Rotate the webhook secret',
      'Deliveries are signed with the new secret from now on, and with the old one too for 24 hours, so your '
      + 'receiver can switch without a failed delivery.', async () => {
        const rotated = await api('apps/rotate-webhook-secret', { appKey });
        secretCode.textContent = rotated.webhookSecret;
        overlap.textContent = rotated.previousWebhookSecretUntil
          ? `The previous secret also signs every delivery until ${when(rotated.previousWebhookSecretUntil)}.` : '';
        reveal(wrap, shownOnce('New webhook secret', [['Webhook secret', rotated.webhookSecret]],
          'Give your receiver the new secret within 24 hours.'));
        say('Webhook secret rotated.');
      });

    return [heading('Webhooks'), wrap,
      panel('Destination and events', destination),
      panel('Signing secret', h('p', {}, secretCode, ' ', copyButton(() => secretCode.textContent, 'Webhook secret')),
        overlap, rotate),
      deliveryLog(appKey)];
  }

  function deliveryLog(appKey) {
    const status = select(uid('delivery-status'), [['', 'any'], ['pending', 'pending'], ['delivered', 'delivered'], ['failed', 'failed']], '');
    const type = select(uid('delivery-type'), [['', 'any'], ...WEBHOOK_EVENTS.map(([t]) => [t, t])], '');
    const since = h('input', { id: uid('delivery-since'), type: 'datetime-local' });
    const until = h('input', { id: uid('delivery-until'), type: 'datetime-local' });
    const filters = () => ({
      appKey, status: status.value || undefined, type: type.value || undefined,
      since: instant(since), until: instant(until),
    });
    let table = null;
    const replayOne = (delivery) => button('Replay', (event) => act(event.currentTarget, async () => {
      const answer = await api('webhooks/replay', { appKey, eventIds: [delivery.eventId] });
      say(`Replayed ${answer.replayed} event (${delivery.eventId}).`);
      table.reload();
    }), 'quiet');
    const columns = [
      ['Created', (d) => when(d.createdAt)],
      ['Type', (d) => d.type],
      ['Status', (d) => h('span', { class: `status-${d.status}` }, d.status)],
      ['Attempts', (d) => number(d.attempts), true],
      ['Last answer', (d) => (d.lastStatusCode ? String(d.lastStatusCode) : '—'), true],
      ['Last attempt', (d) => when(d.lastAttemptAt)],
      ['Next attempt', (d) => when(d.nextAttemptAt)],
      ['Event id', (d) => h('code', {}, d.eventId)],
      ['Replay', replayOne],
    ];
    const load = async (pageToken) => {
      const answer = await api('webhooks/deliveries', { ...filters(), pageSize: 25, pageToken });
      return { rows: answer.deliveries || [], pageToken: answer.pageToken };
    };
    const holder = h('div');
    const show = () => {
      table = pagedTable('Deliveries, newest first', columns, load, 'No delivery matches.');
      holder.replaceChildren(table);
    };
    const filter = form('Filter deliveries', [h('div', { class: 'row' },
      field('Status', status), field('Type', type), field('Since', since), field('Until', until))], 'Show deliveries',
    async () => show());

    // The console's replay takes a start (`since`): every failed event from then until now.
    const from = h('input', { id: uid('replay-since'), type: 'datetime-local', required: true });
    const more = h('div');
    const replaySince = async (pageToken) => {
      const answer = await api('webhooks/replay', { appKey, since: instant(from), pageToken });
      say(`Replayed ${answer.replayed} ${answer.replayed === 1 ? 'event' : 'events'}.`);
      more.replaceChildren(answer.pageToken
        ? button('Replay the next batch', (event) => act(event.currentTarget, () => replaySince(answer.pageToken)), 'quiet')
        : '');
      if (table) table.reload();
    };
    const range = form('Replay failed events since', [field('Failed since', from,
      'Every event whose delivery failed from then until now is sent again.')], 'Replay failed events',
    () => replaySince(undefined));

    show();
    return h('div', {},
      panel('Delivery log', h('p', { class: 'hint' }, 'The last 7 days. A replay sends an event again with the same id.'),
        filter, holder),
      panel('Replay failed events since a time', range, more));
  }

  // ---- Users -------------------------------------------------------------------------------

  /** A page of a Server API list the console reaches by page number: the next page is asked
   * for only after a full one. */
  async function numbered(op, appKey, page, rowsOf) {
    const size = 50;
    const at = page || 1;
    const rows = rowsOf(await api(op, { appKey, page: at, pageSize: size }));
    return { rows, pageToken: rows.length === size ? at + 1 : null };
  }

  /** The user lists: every registered user (newest first), the bans in force, the soft-deleted. */
  const USER_LISTS = [
    ['all', {
      title: 'All registered users, newest first',
      columns: (open) => [
        ['User id', open],
        ['Name', (u) => u.name || '—'],
        ['Registered', (u) => when(u.createdAt)],
        ['State', (u) => u.state || '—'],
      ],
      load: async (appKey, pageToken) => {
        const answer = await api('users/list', { appKey, pageSize: 50, pageToken });
        return { rows: answer.users || [], pageToken: answer.pageToken };
      },
    }],
    ['banned', {
      title: 'Banned users, latest expiry first',
      columns: (open) => [['User id', open], ['Banned until', (u) => when(u.banExpiresAt)]],
      load: (appKey, page) => numbered('users/banned', appKey, page, (answer) => answer.bannedUsers || []),
    }],
    ['soft-deleted', {
      title: 'Soft-deleted users, oldest deletion first',
      columns: (open) => [['User id', open]],
      load: (appKey, page) => numbered('users/soft-deleted', appKey, page,
        (answer) => (answer.userIds || []).map((userId) => ({ userId }))),
    }],
  ];

  async function usersPage({ appKey }) {
    const app = await loadApp(appKey);
    const count = h('div', {}, capMeter(app));
    const refreshCount = async () => count.replaceChildren(capMeter(await loadApp(appKey)));
    const details = h('div', { 'aria-live': 'polite' });
    const userId = h('input', { id: uid('user-id'), required: true, autocomplete: 'off', spellcheck: 'false' });

    const lookUp = async (id) => {
      const user = await api('users/get', { appKey, userId: id });
      const changed = async (gone) => {
        await refreshCount();
        if (gone) details.replaceChildren(h('p', {}, `${id} no longer exists.`));
        else await lookUp(id);
        if (list) list.reload();
      };
      details.replaceChildren(userPanel(app, user, changed));
    };
    const find = form('Look up a user', [field('User id', userId)], 'Look up', () => lookUp(userId.value.trim()));

    const filter = select(uid('user-filter'), USER_LISTS.map(([value, list]) => [value, list.title]), 'all');
    const holder = h('div');
    let list = null;
    const open = (u) => button(u.userId, (event) => act(event.currentTarget, async () => {
      userId.value = u.userId;
      await lookUp(u.userId);
      details.querySelector('h3').focus();
    }), 'quiet');
    const showList = () => {
      const [, chosen] = USER_LISTS.find(([value]) => value === filter.value);
      list = pagedTable(chosen.title, chosen.columns(open), (cursor) => chosen.load(appKey, cursor), 'Nobody in this list.');
      holder.replaceChildren(list);
    };
    const lists = form('User lists', [field('List', filter)], 'Show list', async () => showList());
    showList();

    return [heading('Users'),
      panel('Registration cap', count),
      panel('Look up a user', find, details),
      panel('Lists', lists, holder)];
  }

  function userPanel(app, user, changed) {
    const ids = { appKey: app.appKey, userIds: [user.userId] };
    const development = app.environment === 'development';
    const minutes = h('input', { id: uid('ban-minutes'), type: 'number', min: 1, max: 43200, value: 60 });
    const disconnect = checkbox('Also close live connections', uid('disconnect'), true);
    const banned = user.banExpiresAt ? `until ${when(user.banExpiresAt)}` : 'no';
    const state = user.state === 'soft-deleted'
      ? `soft-deleted${user.softDeletedAt ? ` (${when(user.softDeletedAt)})` : ''}` : (user.state || 'active');
    const run = (text, op, body, done, kind = 'quiet') => button(text, (event) => act(event.currentTarget, async () => {
      const answer = await api(op, body());
      say(done(answer));
      await changed();
    }), kind);
    return h('section', { class: 'panel', 'aria-label': `User ${user.userId}` },
      h('h3', { tabindex: '-1' }, `User ${user.userId}`),
      facts([
        ['Name', user.name || '—'],
        ['Portrait', user.portraitUri ? h('code', {}, user.portraitUri) : '—'],
        ['Registered', when(user.createdAt)],
        ['State', state],
        ['Online', user.online ? 'yes' : 'no'],
        ['Banned', banned],
        ['Tags', (user.tags || []).length ? (user.tags || []).join(', ') : '—'],
        ['Friends', number(user.friendCount ?? 0)],
        ['Blocked users', number(user.blockedCount ?? 0)],
      ]),
      h('h4', {}, 'Actions'),
      h('div', { class: 'row' }, disconnect,
        run('Expire tokens', 'users/expire-tokens',
          () => ({ ...ids, expiresAt: Date.now(), disconnect: disconnect.querySelector('input').checked }),
          () => `Tokens of ${user.userId} issued until now no longer work.`)),
      h('div', { class: 'row' }, field('Ban for (minutes)', minutes),
        run('Ban', 'users/ban', () => ({ ...ids, durationMinutes: Number(minutes.value) }),
          () => `${user.userId} is banned for ${minutes.value} minutes.`),
        run('Unban', 'users/unban', () => ids, () => `${user.userId} is no longer banned.`)),
      h('div', { class: 'row' },
        guarded('Soft-delete', `${user.userId} is hidden at once and purged in the background; a restore brings them back until the purge finishes.`,
          async () => {
            const answer = await api('users/soft-delete', ids);
            say(`Soft delete of ${user.userId} started (operation ${answer.operationId || '—'}).`);
            await changed();
          }),
        run('Restore', 'users/restore', () => ids,
          (answer) => `Restore of ${user.userId} started (operation ${answer.operationId || '—'}).`)),
      development
        ? guarded('Delete test user', `${user.userId} and everything of theirs is removed for good, and their slot under the cap is freed.`,
          async () => {
            await api('apps/delete-test-user', { appKey: app.appKey, userId: user.userId });
            say(`Test user ${user.userId} deleted.`);
            await changed(true);
          })
        : h('p', { class: 'hint' }, 'Deleting a test user is possible in development apps only.'));
  }

  // ---- Activity ----------------------------------------------------------------------------

  const CHART = { width: 640, height: 220, left: 56, right: 12, top: 12, bottom: 28 };

  function seriesLabel(series) {
    const labels = Object.entries(series.labels || {}).map(([k, v]) => `${k}=${v}`);
    return labels.length ? labels.join(', ') : series.name;
  }

  /** The chart's top: the highest value rounded up to 1, 2, 4, 8 or 10 times a power of ten, so
   * the four grid lines fall on round numbers. */
  function roundUp(highest) {
    if (!(highest > 0)) return 1;
    const power = 10 ** Math.floor(Math.log10(highest));
    return [1, 2, 4, 8, 10].map((m) => m * power).find((top) => top >= highest * (1 - 1e-9));
  }

  /** One figure as a line chart (inline SVG), with its legend and its numbers as a table. */
  function chart(name, series, from, to) {
    const points = series.flatMap((s) => s.points || []);
    const times = points.map(([t]) => t);
    const t0 = Math.min(from ?? Infinity, ...times);
    const t1 = Math.max(to ?? -Infinity, ...times, t0 + 1);
    const top = roundUp(Math.max(...points.map(([, v]) => v), 0));
    const { width, height, left, right, top: pad, bottom } = CHART;
    const x = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - right);
    const y = (v) => height - bottom - (v / top) * (height - pad - bottom);
    const titleId = uid('chart');
    const svg = h('svg:svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId },
      h('svg:title', { id: titleId }, `${name}: ${series.length} ${series.length === 1 ? 'line' : 'lines'}, `
        + `from ${new Date(t0).toLocaleTimeString()} to ${new Date(t1).toLocaleTimeString()}, highest ${number(top)}`),
      [0, 0.25, 0.5, 0.75, 1].map((f) => [
        h('svg:line', { class: 'grid-line', x1: left, x2: width - right, y1: y(top * f), y2: y(top * f) }),
        h('svg:text', { x: left - 6, y: y(top * f) + 4, 'text-anchor': 'end' }, number(top * f)),
      ]),
      h('svg:line', { class: 'axis', x1: left, x2: left, y1: pad, y2: height - bottom }),
      h('svg:line', { class: 'axis', x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }),
      h('svg:text', { x: left, y: height - 8 }, new Date(t0).toLocaleTimeString()),
      h('svg:text', { x: width - right, y: height - 8, 'text-anchor': 'end' }, new Date(t1).toLocaleTimeString()),
      series.map((s, i) => {
        const coords = (s.points || []).map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
        return coords.length > 1
          ? h('svg:polyline', { class: `line c${i % 6}`, points: coords.join(' ') })
          : coords.map((c) => h('svg:circle', { class: `line c${i % 6}`, cx: c.split(',')[0], cy: c.split(',')[1], r: 3 }));
      }));
    const legend = h('ul', { class: 'legend' }, series.map((s, i) =>
      h('li', {}, h('span', { class: `swatch c${i % 6}`, 'aria-hidden': 'true' }), seriesLabel(s))));
    const last = (s) => (s.points && s.points.length ? s.points[s.points.length - 1][1] : undefined);
    const numbers = h('details', {}, h('summary', {}, `${name} as numbers`),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Line'),
        h('th', { scope: 'col', class: 'num' }, 'Latest'), h('th', { scope: 'col', class: 'num' }, 'Highest'),
        h('th', { scope: 'col', class: 'num' }, 'Points'))),
      h('tbody', {}, series.map((s) => h('tr', {}, h('th', { scope: 'row' }, seriesLabel(s)),
        h('td', { class: 'num' }, last(s) === undefined ? '—' : number(last(s))),
        h('td', { class: 'num' }, number(Math.max(0, ...(s.points || []).map(([, v]) => v)))),
        h('td', { class: 'num' }, number((s.points || []).length)))))));
    return h('figure', { class: 'chart' }, h('figcaption', {}, h('h3', {}, name)), svg, legend, numbers);
  }

  /** Which series share a chart (same unit, read together); any other series gets its own. */
  const FIGURES = [
    ['Calls and 5xx errors', ['calls', 'errors']],
    ['Latency of calls, p50 and p99 (seconds)', ['latencyP50', 'latencyP99']],
    ['Rate-limit refusals (429)', ['rateLimited']],
    ['Webhook lag, p99 (seconds from a change to its delivery)', ['webhookLagP99']],
    ['Webhook deliveries failed for good', ['webhookFailed']],
  ];

  function charts(answer) {
    const shown = (answer.series || []).filter((s) => s.points && s.points.length);
    if (!shown.length) return [h('p', {}, 'No figures in this period yet.')];
    const grouped = FIGURES.map(([title, names]) => [title, shown.filter((s) => names.includes(s.name))]);
    const known = FIGURES.flatMap(([, names]) => names);
    const others = shown.filter((s) => !known.includes(s.name)).map((s) => [`${s.name}${s.unit ? ` (${s.unit})` : ''}`, [s]]);
    return [...grouped, ...others].filter(([, series]) => series.length)
      .map(([title, series]) => chart(title, series.slice(0, 12), answer.from, answer.to));
  }

  async function activityPage({ appKey }) {
    const scope = appKey ? `app ${appKey}` : 'the whole stack';
    const minutes = select(uid('minutes'), [['15', 'last 15 minutes'], ['60', 'last hour'], ['360', 'last 6 hours'], ['1440', 'last 24 hours']], '60');
    const figures = h('div', { 'aria-live': 'polite' });
    const load = async () => {
      figures.setAttribute('aria-busy', 'true');
      try {
        figures.replaceChildren(...charts(await api('metrics/get', { appKey, minutes: Number(minutes.value) })));
      } catch (err) {
        if (err instanceof SignedOut) throw err;
        figures.replaceChildren(h('p', {}, `The figures could not be loaded: ${err.message}`));
      } finally {
        figures.removeAttribute('aria-busy');
      }
    };
    const period = form('Period', [field('Period', minutes)], 'Show figures', load);
    load().catch(() => {});
    const change = (value) => (value === undefined || value === null ? '—' : h('code', { class: 'json' }, json(value)));
    const audit = pagedTable('Console changes, newest first', [
      ['When', (e) => when(e.at)],
      ['Who', (e) => e.actor],
      ['What', (e) => h('code', { class: 'nowrap' }, e.action)],
      // An app's own log names its app in the heading already.
      appKey ? null : ['App', (e) => (e.appKey ? h('code', { class: 'nowrap' }, e.appKey) : '—')],
      ['Target', (e) => (e.target === undefined ? '—' : (typeof e.target === 'string' ? e.target : json(e.target)))],
      ['Before', (e) => change(e.before)],
      ['After', (e) => change(e.after)],
    ].filter(Boolean), async (pageToken) => {
      const answer = await api('audit/list', { appKey, pageSize: 50, pageToken });
      return { rows: answer.entries || [], pageToken: answer.pageToken };
    }, 'No console change recorded yet.');
    return [heading(`Activity of ${scope}`),
      panel('Figures', h('p', { class: 'hint' }, appKey
        ? 'The whole stack\'s calls, errors, latency and webhook figures; the rate-limit refusals are this app\'s.'
        : 'Calls, errors, latency, rate-limit refusals and webhook lag, as the stack measures them.'),
        period, figures),
      panel('Audit log', h('p', { class: 'hint' }, 'Every change made through the console: who, what, when, before and after (never a secret).'),
        audit)];
  }

  const APP_PAGES = {
    overview: overviewPage,
    chat: chatPage,
    webhooks: webhooksPage,
    users: usersPage,
    activity: activityPage,
  };

  // ---- start -------------------------------------------------------------------------------

  async function start() {
    $('sign-out').addEventListener('click', (event) => act(event.currentTarget, signOut));
    // The skip link moves focus without touching the address, which holds the page's route.
    document.querySelector('.skip').addEventListener('click', (event) => {
      event.preventDefault();
      $('main').focus();
    });
    window.addEventListener('hashchange', () => {
      quiet();
      render(true);
    });
    try {
      const response = await fetch('config.json', { cache: 'no-cache', credentials: 'omit' });
      config = await response.json();
    } catch (err) {
      complain(`The console's configuration could not be loaded (${err.message}). Reload the page.`);
      return;
    }
    const params = new URLSearchParams(window.location.search);
    if (config.signIn === 'cognito' && (params.has('code') || params.has('error'))) {
      try {
        await finishCognito(params);
      } catch (err) {
        showSignIn();
        complain(err.message);
        return;
      }
    } else {
      restoreSession();
    }
    render(false);
  }

  start();
})();
